// BPF tokens: delegated BPF permissions for user namespaces.
export { BPF_TOKEN_CREATE, BpfToken, TokenError } from './token.js';
