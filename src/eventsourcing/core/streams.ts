/**
 * Stream names are `<category>-<id>`: the category is what precedes the first dash, which is
 * what EventStoreDB's category convention and our server-side prefix filters rely on.
 */
export function streamName(category: string, id: string): string {
  if (category === '' || category.includes('-')) throw new Error(`invalid stream category: ${category}`);
  if (id === '') throw new Error('stream id must not be empty');
  return `${category}-${id}`;
}

/** The id part of a stream name (everything after the first dash), or null when there is none. */
export function streamIdOf(stream: string): string | null {
  const dash = stream.indexOf('-');
  return dash < 0 ? null : stream.slice(dash + 1);
}

/** The prefix that selects every stream of a category in a server-side filter. */
export function categoryPrefix(category: string): string {
  return `${category}-`;
}
