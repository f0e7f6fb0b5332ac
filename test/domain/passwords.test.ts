import { describe, expect, it } from "vitest";
import { PASSWORD_MAX_LENGTH, passwordProblem } from "../../src/domain/passwords";

const EMAIL = "ada@example.com";

describe("passwordProblem", () => {
  it("accepts a long, uncommon password", () => {
    expect(passwordProblem("violet tractor in the rain", EMAIL)).toBeNull();
  });

  it("refuses one shorter than 12 characters, counting code points", () => {
    expect(passwordProblem("short pass1", EMAIL)).toMatch(/at least 12/);
    // 11 emoji are 22 UTF-16 units but 11 characters.
    expect(passwordProblem("😀".repeat(11), EMAIL)).toMatch(/at least 12/);
    expect(passwordProblem("😀".repeat(12), EMAIL)).toBeNull();
  });

  it("refuses one longer than the maximum", () => {
    expect(passwordProblem(`${"x".repeat(PASSWORD_MAX_LENGTH)}y`, EMAIL)).toMatch(/at most/);
  });

  it("refuses a common password whatever its case or spacing", () => {
    expect(passwordProblem("Password1234", EMAIL)).toMatch(/common/);
    expect(passwordProblem("correct horse battery staple", EMAIL)).toMatch(/common/);
  });

  it("refuses the user's own email address", () => {
    expect(passwordProblem("Ada@Example.com", EMAIL)).toMatch(/email/);
    expect(passwordProblem("adalovelace1815", "adalovelace1815@example.com")).toMatch(/email/);
  });
});
