import { describe, expect, it } from "vitest";
import { diffOf } from "../../src/domain/audit-chain";

describe("an audit entry's diff", () => {
  it("names fields in snake_case, as the API does, and hides secrets by their own name", () => {
    expect(
      diffOf(
        { rateLimitBurst: 400, secretCiphertext: "a", name: "x" },
        { rateLimitBurst: 20, secretCiphertext: "b", name: "x" },
        ["secretCiphertext"],
      ),
    ).toEqual({
      rate_limit_burst: { from: 400, to: 20 },
      secret_ciphertext: { to: "(changed)" },
    });
  });
});
