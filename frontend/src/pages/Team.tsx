// The team: its members and their roles, invitations, its data (retention, erasure, what is
// stored: team-data.tsx) and the activity log. Admins change roles, remove members and invite;
// only an owner grants or removes the owner role.

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import type { Invite, Member, Page, Role } from '../api/types';
import { ROLES } from '../api/types';
import { dateTime } from '../lib/format';
import { useResource } from '../lib/resource';
import { useCan, useSession } from '../lib/session';
import { track } from '../lib/telemetry';
import { PageHead, RoleNote, Table, Time } from '../ui/bits';
import { Field, FormError, useAction } from '../ui/form';
import { Async, Empty, errorMessage } from '../ui/states';
import { toast } from '../ui/toast';
import { Activity } from './Activity';
import { DataSection } from './team-data';

export default function Team() {
  const { me, refresh } = useSession();
  const isAdmin = useCan('admin');
  const isOwner = me.role === 'owner';
  const members = useResource((signal) => api.get<Page<Member>>('/api/team/members?limit=200', { signal }), []);
  const invites = useResource((signal) => (isAdmin ? api.get<Page<Invite>>('/api/team/invites?limit=200', { signal }) : Promise.resolve(null)), [isAdmin]);
  const [activityTick, setActivityTick] = useState(0);
  const changed = () => {
    members.reload();
    invites.reload();
    setActivityTick((t) => t + 1);
  };

  const setRole = async (m: Member, role: Role) => {
    track('app.team', 'change_role', { role });
    try {
      await api.patch(`/api/team/members/${m.id}`, { role });
      toast({ kind: 'success', title: `${m.name} is now ${role}` });
      if (m.id === me.user.id) await refresh();
    } catch (e) {
      toast({ kind: 'error', title: 'Role not changed', message: errorMessage(e) });
    }
    changed();
  };
  const remove = async (m: Member) => {
    if (!window.confirm(`Remove ${m.name} (${m.email}) from the team? Their sessions and access tokens stop working at once.`)) return;
    track('app.team', 'remove_member');
    try {
      await api.del(`/api/team/members/${m.id}`);
      toast({ kind: 'success', title: `${m.name} removed` });
    } catch (e) {
      toast({ kind: 'error', title: 'Not removed', message: errorMessage(e) });
    }
    changed();
  };
  const mayManage = (m: Member) => isAdmin && m.id !== me.user.id && (isOwner || m.role !== 'owner');
  const grantable = ROLES.filter((r) => isOwner || r !== 'owner');

  return (
    <section>
      <PageHead title="Team" sub={me.team.name} />
      {!isAdmin && <RoleNote>Your role is {me.role}: inviting, removing members and changing roles need the admin role.</RoleNote>}
      <h2>Members</h2>
      <Async r={members} isEmpty={(d) => d.data.length === 0} empty={<Empty title="No members." />}>
        {(d) => (
          <Table label="Members">
            <thead>
              <tr>
                <th>Name</th>
                <th>Email</th>
                <th>Role</th>
                <th>Joined</th>
                <th>Last active</th>
                <th>
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {d.data.map((m) => (
                <tr key={m.id} data-member-email={m.email}>
                  <td>
                    {m.name}
                    {m.id === me.user.id && <span class="muted small"> (you)</span>}
                  </td>
                  <td>{m.email}</td>
                  <td>
                    {mayManage(m) ? (
                      <select aria-label={`Role of ${m.name}`} value={m.role} onChange={(e) => void setRole(m, e.currentTarget.value as Role)}>
                        {grantable.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <span class={`role role-${m.role}`}>{m.role}</span>
                    )}
                  </td>
                  <td>{dateTime(m.joined_at)}</td>
                  <td>
                    <Time ms={m.last_active_at} />
                  </td>
                  <td class="actions">
                    {mayManage(m) && (
                      <button type="button" class="btn btn-small btn-danger-quiet" onClick={() => void remove(m)}>
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Async>
      {isAdmin && (
        <>
          <h2>Invite someone</h2>
          <InviteForm roles={grantable} onInvited={changed} />
          <h2>Pending invites</h2>
          <Async r={invites} isEmpty={(d) => !d || d.data.length === 0} empty={<Empty title="No pending invites." />}>
            {(d) => (
              <Table label="Pending invites">
                <thead>
                  <tr>
                    <th>Email</th>
                    <th>Role</th>
                    <th>Expires</th>
                    <th>
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d?.data.map((i) => (
                    <tr key={i.id}>
                      <td>{i.email}</td>
                      <td>{i.role}</td>
                      <td>{dateTime(i.expires_at)}</td>
                      <td class="actions">
                        <button
                          type="button"
                          class="btn btn-small"
                          onClick={() =>
                            void api.del(`/api/team/invites/${i.id}`).then(
                              () => (toast({ kind: 'success', title: 'Invite revoked' }), changed()),
                              (e: unknown) => toast({ kind: 'error', title: 'Not revoked', message: errorMessage(e) }),
                            )
                          }
                        >
                          Revoke
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </Async>
        </>
      )}
      <DataSection onChanged={() => setActivityTick((t) => t + 1)} />
      <h2>Activity</h2>
      <Activity key={activityTick} />
    </section>
  );
}

function InviteForm({ roles, onInvited }: { roles: Role[]; onInvited: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [link, setLink] = useState<Invite | null>(null);
  const invite = useAction(async () => {
    const created = await api.post<Invite>('/api/team/invites', { email, role });
    track('app.team', 'invite', { role });
    setLink(created);
    setEmail('');
    onInvited();
  });
  return (
    <>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void invite.run();
        }}
      >
        <Field id="invite-email" label="Email" error={invite.fields.email}>
          <input id="invite-email" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        <Field id="invite-role" label="Role" error={invite.fields.role}>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" class="btn btn-primary" disabled={invite.busy}>
          {invite.busy ? 'Inviting…' : 'Send invite'}
        </button>
      </form>
      <FormError error={invite.error} />
      {link?.invite_url && (
        <div class="notice" role="status">
          <p>
            Invite for <strong>{link.email}</strong> ({link.role}) created and sent. The link works once, for 7 days, and is shown only now:
          </p>
          <p class="copy-row">
            <input readOnly class="mono" aria-label="Invite link" value={link.invite_url} data-invite-url onFocus={(e) => e.currentTarget.select()} />
            <button type="button" class="btn" onClick={() => void navigator.clipboard?.writeText(link.invite_url ?? '').then(() => toast({ kind: 'success', title: 'Link copied' }))}>
              Copy
            </button>
          </p>
        </div>
      )}
    </>
  );
}
