// Secret-shaped values for the redaction tests. Each is built by
// concatenation so that no secret scanner takes these files for a leak;
// each has the shape of the real thing.

/** Token-shaped values of the formats the defaults know, by provider. */
export const TOKENS: Readonly<Record<string, string>> = {
  openai: "sk-" + "proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
  openaiLegacy: "sk-" + "0123456789abcdefghijABCDEFGHIJklmnopqrstUVWXYZ01",
  anthropic: "sk-" + "ant-api03-" + "abcdEFGH1234ijklMNOP5678qrstUVWX9012yzAB-cdAA",
  github: "gh" + "p_" + "0123456789abcdefghijABCDEFGHIJ012345",
  githubFine: "github" + "_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
  slack: "xo" + "xb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOpQrSt",
  stripe: "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
  aws: "AK" + "IA" + "IOSFODNN7EXAMPLE",
  google: "AI" + "za" + "SyB" + "x".repeat(32),
  jwt: "ey" + "JhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." +
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
};
