/**
 * What a message costs: segments × the tenant's price per segment for the recipient's country.
 * Prices are decimal strings in the tenant's currency (no float drift in a price table); costs are
 * whole millionths of the currency, summed exactly, and shown as decimals.
 */

/** List prices per segment in USD, used for a country the tenant has not priced itself. */
export const DEFAULT_PRICES_USD: Readonly<Record<string, string>> = {
  CN: "0.0065",
  US: "0.0079",
  CA: "0.0079",
  GB: "0.0400",
  HK: "0.0550",
  SG: "0.0350",
  JP: "0.0750",
  DE: "0.0850",
  FR: "0.0750",
  AU: "0.0550",
};
/** For any other country. */
export const FALLBACK_PRICE_USD = "0.0500";

const PRICE = /^(0|[1-9]\d{0,5})(\.\d{1,6})?$/;

export function isPrice(value: string): boolean {
  return PRICE.test(value);
}

/** "0.0065" → 6500 millionths. Only for strings that pass `isPrice`. */
export function toMicros(price: string): number {
  const [whole = "0", fraction = ""] = price.split(".");
  return Number(whole) * 1_000_000 + Number(fraction.padEnd(6, "0"));
}

/** 13000 → 0.013 (six decimals at most, as a JSON number). */
export function fromMicros(micros: number): number {
  return micros / 1_000_000;
}

export interface PriceTable {
  currency: string;
  /** The tenant's own prices by country; the rest fall back to the defaults (USD tenants) */
  prices: Readonly<Record<string, string>>;
}

/** The price of one segment to `country`, in millionths of the tenant's currency. */
export function pricePerSegmentMicros(table: PriceTable, country: string): number {
  const own = table.prices[country];
  if (own !== undefined) {
    return toMicros(own);
  }
  // List prices are in USD; a tenant billing in another currency prices its countries itself.
  if (table.currency !== "USD") {
    return 0;
  }
  return toMicros(DEFAULT_PRICES_USD[country] ?? FALLBACK_PRICE_USD);
}

export function costMicros(table: PriceTable, country: string, segments: number): number {
  return pricePerSegmentMicros(table, country) * segments;
}
