import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { isIP as nodeIsIP } from "node:net";
import { isIP } from "../../src/shared/ip.ts";

/** src/shared/ip.ts stands in for node:net's isIP (which start-up no longer loads): same answers. */
describe("isIP answers as node:net's", () => {
  test("known spellings", () => {
    const cases = [
      "127.0.0.1", "0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", " 1.2.3.4", "1.2.3.4 ",
      "::", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1", "fe80::1%eth0", "fe80::1%", "1::2::3", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
      "2001:db8::8a2e:370:7334", "::ffff:1.2.3", ":::", "1:2:3:4:5:6:1.2.3.4", "1::1.2.3.4", "g::1", "", "localhost", "[::1]", "12345::",
    ];
    for (const host of cases) expect({ host, version: isIP(host) }).toEqual({ host, version: nodeIsIP(host) as 0 | 4 | 6 });
  });

  test("random strings of address characters", () => {
    const char = fc.constantFrom(..."0123456789abcdefABCDEFg.:%-x ");
    fc.assert(
      fc.property(fc.array(char, { maxLength: 45 }), (chars) => {
        const host = chars.join("");
        return isIP(host) === nodeIsIP(host);
      }),
      { numRuns: 20_000 },
    );
    // …and ones built from valid parts, where the two are most likely to disagree.
    const part = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.integer({ min: 0, max: 0x1ffff }).map((n) => n.toString(16)), fc.constant(""));
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 10 }), fc.constantFrom(".", ":", "::"), (parts, sep) => {
        const host = parts.join(sep);
        return isIP(host) === nodeIsIP(host);
      }),
      { numRuns: 20_000 },
    );
  });
});
