/** Administration: users and roles. Placeholder, built next. */
export function UsersSection() {
  return <p>This section is not built yet.</p>;
}
