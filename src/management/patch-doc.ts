import { ConcurrentWrites } from '../lib/errors.ts';
import type { DocRepo } from '../store/store.ts';

/**
 * The write of a PATCH: `change` runs on the freshest document and lands only
 * over what it read (DocRepo.modify), so concurrent PATCHes each keep their
 * fields. If the document was deleted meanwhile, `load` answers with the
 * resource's own 404.
 */
export async function patchDoc<T>(repo: DocRepo<T>, id: string, load: () => Promise<unknown>, change: Parameters<DocRepo<T>['modify']>[1]) {
  const saved = await repo.modify(id, change);
  if (saved) return saved;
  await load();
  throw new ConcurrentWrites(); // it was deleted and created again meanwhile
}
