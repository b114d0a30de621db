// rtnetlink message types (rtnetlink.h) used by this package.
/** rtnetlink message types (RTM_*, rtnetlink.h) used by this package. */
export const RouteMessageType = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWQDISC: 36,
  DELQDISC: 37,
  GETQDISC: 38,
  NEWTFILTER: 44,
  DELTFILTER: 45,
  GETTFILTER: 46,
} as const;
