import { expect } from "vitest";
import { ProvisionError } from "../../src/errors.js";

/** The ProvisionError `f` throws (fails the test if it throws something else, or nothing). */
export function refusal(f: () => unknown): ProvisionError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(ProvisionError);
    return error as ProvisionError;
  }
  throw new Error("no error");
}
