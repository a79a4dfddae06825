/**
 * A proto enum beside the words the rest of huodong has for its values: the domain's value (the
 * rules' union, the store's column) and, where a seed answers another word, the seed's. One table
 * per enum, in `src/<area>/words.ts`, serves both edges: the RPC layer (proto <-> domain) and the
 * REST bridge (legacy word <-> proto), so the two cannot drift apart.
 */

/**
 * One value: the proto value, its domain value, then the seed's words for it, the first of which
 * legacy answers carry (without one they carry the domain value's text).
 */
export type WordEntry<E extends number, D extends string | number> = readonly [proto: E, domain: D, ...seedWords: string[]];

export interface EnumWords<E extends number, D extends string | number> {
  /** The domain value of a proto value; undefined for UNSPECIFIED and values not in the table. */
  toDomain(value: E | undefined): D | undefined;
  /** The proto value of a domain value; `fallback` (UNSPECIFIED unless given) for anything else. */
  toProto(value: unknown, fallback?: E): E;
  /** What a legacy answer says for a proto value: the seed's word, else the domain value's text. */
  legacyWord(value: E | undefined): string | undefined;
  /** The proto value a legacy caller names by the domain value's text or by a seed word. */
  fromWord(word: string): E | undefined;
  /** Every word fromWord takes, in the table's order (for a refusal's message). */
  readonly words: readonly string[];
}

export function enumWords<E extends number, D extends string | number>(entries: ReadonlyArray<WordEntry<E, D>>): EnumWords<E, D> {
  // Maps, not object literals: a word such as `constructor` must not find a prototype's member.
  const byWord = new Map<string, E>();
  for (const [proto, domain, ...seedWords] of entries) {
    for (const word of [String(domain), ...seedWords]) if (!byWord.has(word)) byWord.set(word, proto);
  }
  const entryOf = (proto: E | undefined): WordEntry<E, D> | undefined => entries.find(([p]) => p === proto);
  return {
    toDomain: (value) => entryOf(value)?.[1],
    toProto: (value, fallback = 0 as E) => entries.find(([, d]) => d === value)?.[0] ?? fallback,
    legacyWord(value) {
      const entry = entryOf(value);
      return entry === undefined ? undefined : (entry[2] ?? String(entry[1]));
    },
    fromWord: (word) => byWord.get(word),
    words: [...byWord.keys()],
  };
}
