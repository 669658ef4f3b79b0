/** Administration: storage state, policy and use over time. Placeholder, built next. */
export function StorageSection() {
  return <p>This section is not built yet.</p>;
}
