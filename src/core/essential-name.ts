// A type's essential name: its name without a "___flavor" suffix, so that `task_struct___old`
// in a program matches the kernel's `task_struct`.
/** A type name without its `___flavor` suffix ("task_struct___old" gives "task_struct"). */
export function essentialName(name: string): string {
  const at = name.indexOf('___');
  return at < 0 ? name : name.slice(0, at);
}
