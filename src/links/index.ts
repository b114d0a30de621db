export { BpfLink, Link, LinkError, type LinkInfo } from './link.js';
