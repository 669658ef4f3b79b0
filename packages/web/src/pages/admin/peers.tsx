/** Administration: trusted peers and call-controller settings. Placeholder, built next. */
export function PeersSection() {
  return <p>This section is not built yet.</p>;
}
