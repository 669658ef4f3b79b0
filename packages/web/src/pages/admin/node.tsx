/** Administration: calls now, calls per hour, packet loss, version and uptime. Placeholder, built next. */
export function NodeSection() {
  return <p>This section is not built yet.</p>;
}
