// LoaderError lives with the shared error model (src/errors), where the pure loader/spec and core reach it.
export { errorContext, LoaderError, type ErrorContext, type LoaderErrorDetails } from '../errors/loader-error.js';
