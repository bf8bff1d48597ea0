export { printTable } from "../../test/harness/text-table.js";

export function fixed(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : "n/a";
}

export function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(0)} %` : "n/a";
}
