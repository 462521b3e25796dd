// Lists several pages read: the team's workflows and provider keys (a team has tens, not
// thousands, so one page of 200 is the whole list).

import { useResource, type Resource } from '../lib/resource';
import { api } from './client';
import type { Page, ProviderKey, WorkflowSummary } from './types';

export function useWorkflows(): Resource<Page<WorkflowSummary>> {
  return useResource((signal) => api.get<Page<WorkflowSummary>>('/api/workflows?limit=200', { signal }), []);
}

export function useKeys(): Resource<Page<ProviderKey>> {
  return useResource((signal) => api.get<Page<ProviderKey>>('/api/keys?limit=200', { signal }), []);
}
