// Where a value named by an error path (`interactions[3].request.target`)
// starts in a YAML document, for line and column in error messages.
import type { LineCounter, parseDocument } from "yaml";

/** Where the node at `path` (or its nearest existing ancestor) starts, 1-based. */
export function locateYamlPath(
  document: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  path: string,
): { line: number; column: number } | undefined {
  const segments = [...path.matchAll(/[^.[\]]+|\[(\d+)\]/g)].map((part) =>
    part[1] === undefined ? part[0] : Number(part[1])
  );
  for (let length = segments.length; length >= 0; length--) {
    const node = length === 0 ? document.contents : document.getIn(segments.slice(0, length), true);
    const range = (node as { range?: readonly number[] } | null | undefined)?.range;
    if (range?.[0] !== undefined) {
      const { line, col } = lineCounter.linePos(range[0]);
      return { line, column: col };
    }
  }
  return undefined;
}
