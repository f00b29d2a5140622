import assert from "node:assert/strict";
import { API_TYPES_FILE, apiDocument, apiTypes } from "./api_types.ts";

/** The first line where two texts differ, for a readable failure. */
function firstDifference(a: string, b: string): string {
  const [left, right] = [a.split("\n"), b.split("\n")];
  const i = left.findIndex((line, n) => line !== right[n]);
  const at = i === -1 ? left.length : i;
  return `line ${at + 1}: committed ${JSON.stringify(left[at])}, ` +
    `generated ${JSON.stringify(right[at])}`;
}

/** JSON-pointer-ish paths of the `allOf` members that admit null (`type: [..., "null"]`). */
function nullInAllOf(node: unknown, path = "#"): string[] {
  if (!node || typeof node !== "object") return [];
  const found: string[] = [];
  const members = (node as { allOf?: unknown }).allOf;
  if (Array.isArray(members)) {
    members.forEach((m, i) => {
      const type = (m as { type?: unknown })?.type;
      if (Array.isArray(type) && type.includes("null")) found.push(`${path}/allOf/${i}`);
    });
  }
  for (const [key, value] of Object.entries(node)) {
    found.push(...nullInAllOf(value, `${path}/${key}`));
  }
  return found;
}

Deno.test("api types", async (t) => {
  const document = await apiDocument();

  await t.step("the committed api_types.gen.ts is what /api/openapi.json generates", async () => {
    const committed = await Deno.readTextFile(API_TYPES_FILE);
    const generated = await apiTypes(document);
    assert.ok(
      committed === generated,
      `web/src/lib/api_types.gen.ts is out of date: run \`deno task gen:api\` ` +
        `(${firstDifference(committed, generated)})`,
    );
  });

  // A nullable zod schema extending a named one comes out as allOf [ref, {type: [object,
  // null]}], which null can never match (the ref is an object): the API's null answer would
  // be typed away. Write such a field as z.union([Schema, z.null()]).
  await t.step("no allOf member admits null", () => {
    assert.deepEqual(nullInAllOf(document), []);
  });

  await t.step("my queue's ticket may be null, as GET /api/me/queue answers it", () => {
    const schemas = (document.components?.schemas ?? {}) as Record<string, unknown>;
    assert.deepEqual(schemas.MyQueue, {
      type: "object",
      properties: {
        ticket: { anyOf: [{ $ref: "#/components/schemas/MyQueueTicket" }, { type: "null" }] },
      },
      required: ["ticket"],
    });
  });
});
