/**
 * The WeChatAccount's memory of the signatures its deliveries came with. WeChat's `signature`
 * covers the token, the timestamp and the nonce, not the body: in plaintext mode, and in
 * compatible mode (which takes plaintext too), whoever saw one push's URL could send a body of
 * their own with it while the timestamp is fresh. So each (timestamp, nonce) is taken once, with
 * the SHA-256 of the message it carried (the body, or the decrypted XML of an encrypted one): the
 * same message again is WeChat's retry and goes on to the inbound dedup; another is refused.
 *
 * The window: a timestamp is fresh within DEFAULT_TOLERANCE_SECONDS (5 minutes) either way of the
 * Worker's clock (channels/wechat/signature `isFresh`), which covers WeChat's retries (three within
 * about 15 s of the push) and any skew between WeChat's clock and ours. A use is kept until its
 * timestamp can no longer be fresh, plus a minute for a difference between the Worker's clock and
 * this object's; after that the timestamp check refuses the signature by itself.
 */
import { DEFAULT_TOLERANCE_SECONDS } from "../../channels/wechat/signature";

/** How long after its timestamp a use is kept. */
export const SIGNATURE_USE_KEPT_SECONDS = DEFAULT_TOLERANCE_SECONDS + 60;

export interface SignatureUse {
  /** The URL's `timestamp`, Unix seconds (the Worker has checked it is fresh). */
  timestamp: number;
  nonce: string;
  /** SHA-256 (hex) of the message the signature came with. */
  messageSha256: string;
}

export function migrateSignatureUses(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS signature_uses (
      timestamp INTEGER NOT NULL,
      nonce TEXT NOT NULL,
      message_sha256 TEXT NOT NULL,
      PRIMARY KEY (timestamp, nonce)
    );
  `);
}

/**
 * Takes the signature for this message: false when its (timestamp, nonce) came before with
 * another message. Runs inside the delivery's transaction, so a refused use records nothing.
 */
export function takeSignature(sql: SqlStorage, use: SignatureUse, now: number): boolean {
  sql.exec(
    "DELETE FROM signature_uses WHERE timestamp < ?",
    Math.floor(now / 1000) - SIGNATURE_USE_KEPT_SECONDS,
  );
  const seen = sql
    .exec<{ message_sha256: string }>(
      "SELECT message_sha256 FROM signature_uses WHERE timestamp = ? AND nonce = ?",
      use.timestamp,
      use.nonce,
    )
    .toArray()[0];
  if (seen) {
    return seen.message_sha256 === use.messageSha256;
  }
  sql.exec(
    "INSERT INTO signature_uses (timestamp, nonce, message_sha256) VALUES (?, ?, ?)",
    use.timestamp,
    use.nonce,
    use.messageSha256,
  );
  return true;
}
