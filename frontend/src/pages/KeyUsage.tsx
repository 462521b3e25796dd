// GET /api/keys/:id/usage?range=: calls, tokens and cost per day for one key.

import { useMemo, useState } from 'preact/hooks';
import { api } from '../api/client';
import { tokenTotal, type ProviderKey, type Range, type TokenCount } from '../api/types';
import { num, usd } from '../lib/format';
import { useResource } from '../lib/resource';
import { Table } from '../ui/bits';
import { RangePicker } from '../ui/RangePicker';
import { Async, Empty } from '../ui/states';
import { TimeChart } from '../ui/TimeChart';

interface Day {
  date: string;
  calls: number;
  tokens: TokenCount;
  cost_usd: number;
}

/** The per-day rows, wherever the response keeps them. */
function days(body: unknown): Day[] {
  if (Array.isArray(body)) return body as Day[];
  const o = (body ?? {}) as Record<string, unknown>;
  const list = o.daily ?? o.data ?? o.days;
  return Array.isArray(list) ? (list as Day[]) : [];
}

export function KeyUsage({ k }: { k: ProviderKey }) {
  const [range, setRange] = useState<Range>('30d');
  const r = useResource((signal) => api.get<unknown>(`/api/keys/${k.id}/usage?range=${range}`, { signal }), [k.id, range]);
  return (
    <div>
      <RangePicker value={range} onChange={setRange} />
      <Async r={r} what="Per-key usage" isEmpty={(b) => days(b).every((d) => !d.calls)} empty={<Empty title="This key has not been used in this period." />}>
        {(b) => <UsageDays list={days(b)} />}
      </Async>
    </div>
  );
}

function UsageDays({ list }: { list: Day[] }) {
  const times = useMemo(() => list.map((d) => Date.parse(d.date)), [list]);
  const series = useMemo(() => [{ label: 'Calls', values: list.map((d) => d.calls), color: '#3b82f6' }], [list]);
  return (
    <>
      <TimeChart times={times} series={series} label="Calls per day" bars height={160} />
      <Table label="Usage per day">
        <thead>
          <tr>
            <th>Day</th>
            <th>Calls</th>
            <th>Tokens</th>
            <th>Cost</th>
          </tr>
        </thead>
        <tbody>
          {list
            .filter((d) => d.calls)
            .map((d) => (
              <tr key={d.date}>
                <td>{d.date}</td>
                <td>{num(d.calls)}</td>
                <td>{num(tokenTotal(d.tokens))}</td>
                <td>{usd(d.cost_usd)}</td>
              </tr>
            ))}
        </tbody>
      </Table>
    </>
  );
}
