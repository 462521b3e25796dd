// Cancel and retry, shared by the monitor's rows and the detail page. Shown to members and
// above; a 403 (a role changed meanwhile) still reads clearly.

import { api } from '../api/client';
import type { Execution, ExecutionDetail } from '../api/types';
import { navigate } from '../lib/router';
import { track } from '../lib/telemetry';
import { errorMessage } from '../ui/states';
import { toast } from '../ui/toast';

const CANCELLABLE = ['pending', 'running'];
const RETRYABLE = ['failed', 'cancelled', 'timed_out'];

export function ExecutionActions({ execution, onChanged, compact }: { execution: Execution; onChanged: () => void; compact?: boolean }) {
  const cancel = async () => {
    track('app.executions', 'cancel');
    try {
      await api.post(`/api/executions/${execution.id}/cancel`);
      toast({ kind: 'success', title: 'Execution cancelled' });
      onChanged();
    } catch (e) {
      toast({ kind: 'error', title: 'Could not cancel', message: errorMessage(e) });
    }
  };
  const retry = async () => {
    track('app.executions', 'retry');
    try {
      const created = await api.post<ExecutionDetail>(`/api/executions/${execution.id}/retry`);
      toast({ kind: 'success', title: 'Retry started' });
      navigate(`/executions/${created.id}`);
    } catch (e) {
      toast({ kind: 'error', title: 'Could not retry', message: errorMessage(e) });
    }
  };
  return (
    <span class="row-actions">
      {CANCELLABLE.includes(execution.status) && (
        <button type="button" class={`btn ${compact ? 'btn-small' : ''}`} onClick={() => void cancel()}>
          Cancel
        </button>
      )}
      {RETRYABLE.includes(execution.status) && (
        <button type="button" class={`btn ${compact ? 'btn-small' : ''}`} onClick={() => void retry()}>
          Retry
        </button>
      )}
    </span>
  );
}
