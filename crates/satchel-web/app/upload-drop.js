// What a drop or a folder pick holds: files with the folder path they sit in (relative to what was
// dropped), and every folder, empty ones too. Dropped folders are walked through the entries API
// (webkitGetAsEntry), which must be asked during the drop event itself: `readDrop` takes what it
// needs synchronously and walks the folders afterwards.

/** The folder part of a relative path: 'a/b/c.txt' → 'a/b'. */
export function folderOf(relativePath) {
  const cut = (relativePath || '').lastIndexOf('/');
  return cut < 0 ? '' : relativePath.slice(0, cut);
}

/** Files picked with `webkitdirectory` (or plain files): {files: [{file, path}], folders: [path]}. */
export function readPicked(files) {
  const list = [...files].map((file) => ({ file, path: folderOf(file.webkitRelativePath) }));
  return { files: list, folders: foldersOf(list.map((f) => f.path)) };
}

function foldersOf(paths) {
  const all = new Set();
  for (const path of paths) {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) all.add(parts.slice(0, i).join('/'));
  }
  return [...all];
}

/** Reads a drop's DataTransfer; call it inside the drop handler. Resolves like `readPicked`. */
export function readDrop(dataTransfer) {
  const entries = [...(dataTransfer?.items || [])]
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry?.() || null);
  const files = [...(dataTransfer?.files || [])];
  if (!entries.length || entries.some((entry) => !entry)) return Promise.resolve(readPicked(files));
  return walk(entries);
}

async function walk(roots) {
  const files = [];
  const folders = [];
  const visit = async (entry, path) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      files.push({ file, path });
    } else if (entry.isDirectory) {
      const inner = path ? `${path}/${entry.name}` : entry.name;
      folders.push(inner);
      const reader = entry.createReader();
      // readEntries answers in batches until an empty one.
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await visit(child, inner);
      }
    }
  };
  for (const root of roots) await visit(root, '');
  return { files, folders };
}
