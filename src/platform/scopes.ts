/** Every scope an app may hold. An admin RPC needs the `.admin` scope of its area. */
export const ALL_SCOPES = [
  'userdata',
  'member',
  'member.admin',
  'points',
  'points.admin',
  'lottery',
  'lottery.admin',
  'grant',
  'grant.admin',
] as const;

export type Scope = (typeof ALL_SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (ALL_SCOPES as readonly string[]).includes(value);
}
