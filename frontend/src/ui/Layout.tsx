// The signed-in frame: header (team, notifications badge, who is signed in), navigation that
// folds into a menu on narrow screens, the page, and the toasts.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { nav } from '../routes';
import { useSession } from '../lib/session';
import { useUnread } from '../lib/notifications';
import { Toasts } from './toast';

export function Layout({ path, children }: { path: string; children: ComponentChildren }) {
  const { me, signOut } = useSession();
  const unread = useUnread();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [path]);
  const active = (href: string) => path === href || path.startsWith(href + '/');

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <button type="button" class="icon-btn menu-btn" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          <svg aria-hidden="true" width="22" height="22" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round">
            <path d="M4 6h16M4 12h16M4 18h16" />
          </svg>
          <span class="sr-only">Menu</span>
        </button>
        <a href="/" class="brand">
          Beacon
        </a>
        <span class="team-name" title="Team">
          {me.team.name}
        </span>
        <span class="spacer" />
        {unread.available && (
          <a href="/notifications" class="bell" aria-label={`Notifications, ${unread.count} unread`} data-unread={unread.count}>
            <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
              <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
              <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
            </svg>
            {unread.count > 0 && <span class="badge-count">{unread.count > 99 ? '99+' : unread.count}</span>}
          </a>
        )}
        <span class="who">
          <span class="who-name">{me.user.name}</span> <span class={`role role-${me.role}`} data-role={me.role}>{me.role}</span>
        </span>
        <button type="button" class="btn btn-quiet" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav id="nav" class={`sidenav ${menuOpen ? 'open' : ''}`} aria-label="Main">
        <ul>
          {nav.map((n) => (
            <li key={n.href}>
              <a href={n.href} aria-current={active(n.href) ? 'page' : undefined}>
                {n.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <Toasts />
    </div>
  );
}
