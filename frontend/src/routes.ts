// Every page: its path, its title, whether it needs a session, and the module that holds it
// (loaded on first visit, so the first page downloads only what it shows).

import type { ComponentType } from 'preact';

export interface PageProps {
  params: Record<string, string>;
  query: URLSearchParams;
}

type Loader = () => Promise<{ default: ComponentType<PageProps> }>;

export interface RouteDef {
  pattern: string;
  /** The page's name in telemetry and the document title. */
  name: string;
  title: string;
  load: Loader;
  public?: boolean;
}

export const routes: RouteDef[] = [
  { pattern: '/sign-in', name: 'sign_in', title: 'Sign in', load: () => import('./pages/SignIn'), public: true },
  { pattern: '/sign-up', name: 'sign_up', title: 'Sign up', load: () => import('./pages/SignUp'), public: true },
  { pattern: '/accept-invite', name: 'accept_invite', title: 'Accept invite', load: () => import('./pages/AcceptInvite'), public: true },
  { pattern: '/analytics', name: 'analytics', title: 'Analytics', load: () => import('./pages/Analytics') },
  { pattern: '/usage', name: 'usage', title: 'Token usage', load: () => import('./pages/Usage') },
  { pattern: '/executions', name: 'executions', title: 'Executions', load: () => import('./pages/Executions') },
  { pattern: '/executions/:id', name: 'execution', title: 'Execution', load: () => import('./pages/ExecutionDetail') },
  { pattern: '/traces', name: 'traces', title: 'Traces', load: () => import('./pages/Traces') },
  { pattern: '/traces/:id', name: 'trace', title: 'Trace', load: () => import('./pages/Trace') },
  { pattern: '/workflows', name: 'workflows', title: 'Workflows', load: () => import('./pages/Workflows') },
  { pattern: '/workflows/new', name: 'workflow_new', title: 'New workflow', load: () => import('./pages/WorkflowEdit') },
  { pattern: '/workflows/:id', name: 'workflow', title: 'Workflow', load: () => import('./pages/WorkflowEdit') },
  { pattern: '/schedules', name: 'schedules', title: 'Scheduler', load: () => import('./pages/Schedules') },
  { pattern: '/schedules/:id', name: 'schedule', title: 'Schedule', load: () => import('./pages/ScheduleDetail') },
  { pattern: '/errors', name: 'errors', title: 'Error logs', load: () => import('./pages/Errors') },
  { pattern: '/errors/:id', name: 'error', title: 'Error', load: () => import('./pages/ErrorDetail') },
  { pattern: '/team', name: 'team', title: 'Team', load: () => import('./pages/Team') },
  { pattern: '/keys', name: 'keys', title: 'API keys', load: () => import('./pages/Keys') },
  { pattern: '/notifications', name: 'notifications', title: 'Notifications', load: () => import('./pages/Notifications') },
  { pattern: '/infrastructure', name: 'infrastructure', title: 'Infrastructure', load: () => import('./pages/Infrastructure') },
];

export const HOME = '/analytics';

export const nav: { href: string; label: string }[] = [
  { href: '/analytics', label: 'Analytics' },
  { href: '/usage', label: 'Token usage' },
  { href: '/executions', label: 'Executions' },
  { href: '/traces', label: 'Traces' },
  { href: '/workflows', label: 'Workflows' },
  { href: '/schedules', label: 'Scheduler' },
  { href: '/errors', label: 'Error logs' },
  { href: '/keys', label: 'API keys' },
  { href: '/team', label: 'Team' },
  { href: '/notifications', label: 'Notifications' },
  { href: '/infrastructure', label: 'Infrastructure' },
];
