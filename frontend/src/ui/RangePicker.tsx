// The time range of an aggregate page: 24 hours, 7, 30 or 90 days.

import type { Range } from '../api/types';
import { RANGES } from '../api/types';

const LABELS: Record<Range, string> = { '24h': '24 hours', '7d': '7 days', '30d': '30 days', '90d': '90 days' };

export function RangePicker({ value, onChange }: { value: Range; onChange: (r: Range) => void }) {
  return (
    <div class="segmented" role="radiogroup" aria-label="Time range">
      {RANGES.map((r) => (
        <button key={r} type="button" role="radio" aria-checked={r === value} class={r === value ? 'on' : ''} onClick={() => onChange(r)}>
          {LABELS[r]}
        </button>
      ))}
    </div>
  );
}

export function parseRange(raw: string | null): Range {
  return (RANGES as string[]).includes(raw ?? '') ? (raw as Range) : '7d';
}
