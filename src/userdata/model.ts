/** The user data area's domain types: one JSON document per activity and user, under a cas. */

export type JsonObject = { [key: string]: unknown };

/** Which document: an activity id and a user's openid. */
export interface DocumentKey {
  readonly actid: string;
  readonly openid: string;
}

export interface Document {
  readonly data: JsonObject;
  /** The version a write must name to replace it ("0": none yet). */
  readonly cas: string;
}
