export * from './models.js';
export * from './schedule-prediction.js';
export * from './statistics.js';
export * from './tracker.js';
export { AvailabilityInputError } from './validate.js';
