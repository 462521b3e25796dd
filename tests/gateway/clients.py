"""The providers' own Python client libraries pointed at Beacon's gateway, changed in nothing but
their base URL and API key (a Beacon access token): OpenAI's chat completions (whole and
streamed) and embeddings, Anthropic's messages (whole and streamed).

Usage: python clients.py <beacon origin> <access token> <marker>
Prints one JSON line: what each call gave back, for tests/api/gateway.rs to check.
"""

import json
import sys

import anthropic
import openai

origin, token, marker = sys.argv[1], sys.argv[2], sys.argv[3]
headers = {"x-beacon-agent": "python-client"}

oai = openai.OpenAI(
    base_url=f"{origin}/api/gateway/openai/v1",
    api_key=token,
    default_headers=headers,
    max_retries=0,
)
whole = oai.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": f"whole {marker}"}],
)
stream = oai.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": f"streamed {marker}"}],
    stream=True,
)
streamed_text, streamed_usage = "", None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        streamed_text += chunk.choices[0].delta.content
    if chunk.usage is not None:
        streamed_usage = chunk.usage.model_dump()
embedding = oai.embeddings.create(model="text-embedding-3-small", input=f"embed {marker}")

ant = anthropic.Anthropic(
    base_url=f"{origin}/api/gateway/anthropic",
    api_key=token,
    default_headers=headers,
    max_retries=0,
)
message = ant.messages.create(
    model="claude-sonnet-4-5",
    max_tokens=100,
    messages=[{"role": "user", "content": f"anthropic {marker}"}],
)
with ant.messages.stream(
    model="claude-sonnet-4-5",
    max_tokens=100,
    messages=[{"role": "user", "content": f"anthropic streamed {marker}"}],
) as s:
    anthropic_streamed = "".join(s.text_stream)
    final = s.get_final_message()

print(
    json.dumps(
        {
            "whole": whole.choices[0].message.content,
            "whole_usage": whole.usage.model_dump(),
            "streamed": streamed_text,
            "streamed_usage": streamed_usage,
            "embedding": embedding.data[0].embedding,
            "anthropic": message.content[0].text,
            "anthropic_usage": message.usage.model_dump(),
            "anthropic_streamed": anthropic_streamed,
            "anthropic_streamed_output_tokens": final.usage.output_tokens,
        }
    )
)
