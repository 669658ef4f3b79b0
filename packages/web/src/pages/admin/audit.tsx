/** Administration: the audit log, searchable. Placeholder, built next. */
export function AuditSection() {
  return <p>This section is not built yet.</p>;
}
