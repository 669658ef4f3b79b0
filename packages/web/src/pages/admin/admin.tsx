import type { ComponentType } from 'preact';
import { useRoute } from 'preact-iso';

import { useAuth } from '../../auth.tsx';
import { usePageTitle } from '../../components/page-title.ts';
import { AuditSection } from './audit.tsx';
import { EventsSection } from './events.tsx';
import { NodeSection } from './node.tsx';
import { PeersSection } from './peers.tsx';
import { StorageSection } from './storage.tsx';
import { UsersSection } from './users.tsx';

interface Section {
  readonly path: string;
  readonly title: string;
  /** The user needs one of these permissions to see the section. */
  readonly permissions: readonly string[];
  readonly component: ComponentType;
}

/** Administration's sections, in the order of its navigation; the first one allowed is `/admin`. */
const SECTIONS: readonly Section[] = [
  { path: 'node', title: 'Node status', permissions: ['read-node'], component: NodeSection },
  { path: 'users', title: 'Users and roles', permissions: ['manage-users'], component: UsersSection },
  { path: 'storage', title: 'Storage', permissions: ['read-storage'], component: StorageSection },
  {
    path: 'events',
    title: 'Event subscriptions',
    permissions: ['manage-subscriptions'],
    component: EventsSection,
  },
  { path: 'peers', title: 'Call controllers', permissions: ['read-node'], component: PeersSection },
  { path: 'audit', title: 'Audit log', permissions: ['read-audit'], component: AuditSection },
];

/** Administration (`/admin`, `/admin/:section`): the sections the user's role may see. */
export function AdminPage() {
  const { params } = useRoute();
  const { user } = useAuth();
  const allowed = SECTIONS.filter((s) => s.permissions.some((p) => user.permissions.includes(p)));
  const current = params.section === undefined ? allowed[0] : allowed.find((s) => s.path === params.section);
  usePageTitle(current === undefined ? 'Administration' : `${current.title} · Administration`);
  if (allowed.length === 0) {
    return (
      <>
        <h1>Administration</h1>
        <p>Your role ({user.role}) has no administration pages.</p>
      </>
    );
  }
  const Current = current?.component;
  return (
    <div class="admin">
      <nav aria-label="Administration" class="admin-nav">
        <ul>
          {allowed.map((s) => (
            <li key={s.path}>
              <a href={`/admin/${s.path}`} aria-current={s === current ? 'page' : undefined}>
                {s.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <section class="admin-body" aria-labelledby="admin-heading">
        <h1 id="admin-heading">{current === undefined ? 'Administration' : current.title}</h1>
        {Current === undefined ? <p>There is no such section, or your role may not see it.</p> : <Current />}
      </section>
    </div>
  );
}
