import { describe, expect, it } from "vitest";
import { normalizeChildSpec } from "../../src/hub/child-spec.js";
import { InvalidHubChildSpecError } from "../../src/hub/errors.js";

describe("normalizeChildSpec", () => {
  it("fills in the defaults", () => {
    expect(normalizeChildSpec({ id: "a", behaviour: "w" })).toEqual({
      id: "a",
      behaviour: "w",
      args: undefined,
      restart: "permanent",
      shutdown: 5000,
      metadata: {},
    });
  });

  it.each([
    [null, "spec"],
    [{ id: 3, behaviour: "w" }, "id"],
    [{ id: "", behaviour: "w" }, "id"],
    [{ id: "a" }, "behaviour"],
    [{ id: "a", behaviour: "w", restart: "sometimes" }, "restart"],
    [{ id: "a", behaviour: "w", shutdown: -1 }, "shutdown"],
    [{ id: "a", behaviour: "w", metadata: [] }, "metadata"],
    [{ id: "a", behaviour: "w", metadata: { tag: 1 } }, "metadata.tag"],
    [{ id: "a", behaviour: "w", args: { f: () => 1 } }, "args"],
    [{ id: "a", behaviour: "w", args: new Map() }, "args"],
  ])("rejects %j naming the field %s", (spec, field) => {
    try {
      normalizeChildSpec(spec);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidHubChildSpecError);
      expect((e as InvalidHubChildSpecError).field).toBe(field);
      expect((e as InvalidHubChildSpecError).code).toBe("HV_ERR_HUB_INVALID_CHILD_SPEC");
    }
  });
});
