/** Administration: webhook subscriptions and their delivery log. Placeholder, built next. */
export function EventsSection() {
  return <p>This section is not built yet.</p>;
}
