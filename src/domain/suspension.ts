/** What a suspended tenant's keys, sessions and sends are told (their 403 `tenant-suspended`). */
export const SUSPENDED_DETAIL =
  "This account is suspended by the platform's administrator until it is resumed; messages it had accepted wait and are not lost.";
