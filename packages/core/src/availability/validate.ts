/**
 * Input validation shared by the availability models and statistics. Every check throws an
 * {@link AvailabilityInputError} naming the function, the parameter and its domain.
 */

/**
 * Thrown when an availability model or statistic gets an input outside its domain. It is a
 * `RangeError`, so `instanceof RangeError` also catches it.
 */
export class AvailabilityInputError extends RangeError {
  /** The parameter that was out of its domain, e.g. `alpha` or `parts[2]`. */
  readonly parameter: string;
  /** The domain the parameter must lie in, in words, e.g. `a probability in [0, 1]`. */
  readonly domain: string;
  /** The value that was given. */
  readonly value: unknown;

  constructor(fn: string, parameter: string, domain: string, value: unknown) {
    super(`${fn}: ${parameter} must be ${domain} (got ${describe(value)})`);
    this.name = 'AvailabilityInputError';
    this.parameter = parameter;
    this.domain = domain;
    this.value = value;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value;
}

/** Domain descriptions, kept in one place so messages are consistent. */
export const Domain = {
  probability: 'a probability: a finite number in [0, 1]',
  count: 'a non-negative integer',
  positiveCount: 'an integer ≥ 1',
  duration: 'a finite number of milliseconds ≥ 0',
  positive: 'a finite number > 0',
} as const;

/** Checks `value` is a finite number in [0, 1]; returns it. */
export function probability(fn: string, parameter: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new AvailabilityInputError(fn, parameter, Domain.probability, value);
  }
  return value === 0 ? 0 : value; // normalise -0
}

/** Checks `value` is a non-negative safe integer; returns it. */
export function count(fn: string, parameter: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new AvailabilityInputError(fn, parameter, Domain.count, value);
  }
  return value === 0 ? 0 : value;
}

/** Checks `value` is a safe integer ≥ 1; returns it. */
export function positiveCount(fn: string, parameter: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new AvailabilityInputError(fn, parameter, Domain.positiveCount, value);
  }
  return value;
}

/** Checks `value` is a finite number ≥ 0; returns it. */
export function duration(fn: string, parameter: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new AvailabilityInputError(fn, parameter, Domain.duration, value);
  }
  return value === 0 ? 0 : value;
}

/** Checks `value` is a finite number > 0; returns it. */
export function positive(fn: string, parameter: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new AvailabilityInputError(fn, parameter, Domain.positive, value);
  }
  return value;
}

/** Checks `value` is an object (the models take named inputs); returns it. */
export function inputObject<T>(fn: string, value: T): T {
  if (typeof value !== 'object' || value === null) {
    throw new AvailabilityInputError(fn, 'input', 'an object of named inputs', value);
  }
  return value;
}

/** Checks `value` is a non-empty array of probabilities; returns a copy. */
export function probabilities(fn: string, parameter: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new AvailabilityInputError(fn, parameter, 'a non-empty array of probabilities in [0, 1]', value);
  }
  return value.map((part: unknown, index) => probability(fn, `${parameter}[${index}]`, part));
}
