// Every piece of English the app shows, in one place, and the formatting of sizes and dates.

export const t = {
  appName: 'Satchel',
  email: 'Email',
  password: 'Password',
  signIn: 'Sign in',
  signOut: 'Sign out',
  createAccount: 'Create account',
  signInTitle: 'Sign in to Satchel',
  signInFailed: 'Wrong email or password.',
  registrationFailed: 'Could not create the account',
  files: 'Files',
  sharedWithMe: 'Shared with me',
  links: 'Links',
  trash: 'Trash',
  mainNavigation: 'Main',
  search: 'Search',
  searchResults: 'Search results',
  searchFor: (q) => `Results for “${q}”`,
  noResults: 'Nothing found.',
  upload: 'Upload',
  newFolder: 'New folder',
  rename: 'Rename',
  download: 'Download',
  moveToTrash: 'Move to trash',
  restore: 'Restore',
  deleteForever: 'Delete forever',
  deleteForeverConfirm: (name) => `Delete “${name}” forever? This cannot be undone.`,
  emptyTrash: 'Trash is empty.',
  undo: 'Undo',
  movedToTrash: (n) => (n === 1 ? 'Moved 1 item to trash' : `Moved ${n} items to trash`),
  restored: (n) => (n === 1 ? 'Restored 1 item' : `Restored ${n} items`),
  name: 'Name',
  size: 'Size',
  modified: 'Modified',
  location: 'Location',
  actions: 'Actions',
  create: 'Create',
  save: 'Save',
  cancel: 'Cancel',
  close: 'Close',
  filter: 'Filter',
  filterPlaceholder: 'Filter this folder',
  breadcrumbs: 'Breadcrumbs',
  emptyFolder: 'This folder is empty. Drop files here to upload them.',
  loading: 'Loading…',
  dropHere: 'Drop files to upload',
  uploads: 'Uploads',
  pause: 'Pause',
  resume: 'Resume',
  retry: 'Retry',
  clearFinished: 'Clear finished',
  uploadDone: 'Done',
  uploadPaused: 'Paused',
  uploadFailed: 'Failed',
  uploadCancelled: 'Cancelled',
  uploadWaiting: 'Waiting',
  uploadProgress: (sent, total, rate) => `${bytes(sent)} of ${bytes(total)}${rate ? ` · ${bytes(rate)}/s` : ''}`,
  darkMode: 'Dark mode',
  quota: (used, total) => (total == null ? `${bytes(used)} used` : `${bytes(used)} of ${bytes(total)} used`),
  selected: (n) => (n === 1 ? '1 selected' : `${n} selected`),
  items: (n) => (n === 1 ? '1 item' : `${n} items`),
  folder: 'Folder',
  nothingShared: 'Nothing is shared with you yet.',
  noLinks: 'You have no links yet.',
  owner: 'Owner',
  permission: 'Permission',
  downloads: 'Downloads',
  expires: 'Expires',
  never: 'Never',
  disabled: 'Disabled',
  errorGeneric: 'Something went wrong.',
  notFound: 'This folder does not exist.',
  nameTaken: 'That name is already taken here.',
  skipToContent: 'Skip to content',
  shortcuts: 'Keyboard shortcuts',
  liveUpdated: 'Folder updated',
};

const units = ['B', 'KB', 'MB', 'GB', 'TB'];

/** A size for people: 1.5 MB. */
export function bytes(n) {
  if (n == null) return '';
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const dateFormat = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });

/** A date for people. */
export function date(iso) {
  return iso ? dateFormat.format(new Date(iso)) : '';
}

// Uploads: the panel, resuming, name clashes and the quota (uploads.js and its modules).
Object.assign(t, {
  uploadFolder: 'Import folder', // not "Upload …": tests find the Upload button by that name
  pauseAll: 'Pause all',
  resumeAll: 'Resume all',
  retryAll: 'Retry all',
  cancelAll: 'Cancel all',
  filesDone: (done, total) => `${done.toLocaleString('en')} of ${total.toLocaleString('en')} ${total === 1 ? 'file' : 'files'}`,
  timeLeft: (seconds) => (seconds < 60 ? `${Math.max(1, Math.round(seconds))} s left` : seconds < 3600 ? `${Math.round(seconds / 60)} min left` : `${(seconds / 3600).toFixed(1)} h left`),
  uploadDoneSkipped: (skipped) => `Done (${bytes(skipped)} already on the server)`,
  uploadInterrupted: 'Interrupted. Choose the file again (Resume) or drop it here to continue.',
  notTheSameFile: (name) => `That is not the same file as “${name}” (name or size differ).`,
  clashTitle: 'Name already taken',
  clashText: (name) => `“${name}” already exists here. Replace it (the current file is kept as an older version), keep both, or skip this one?`,
  clashFolder: (name) => `A folder named “${name}” already exists here. Keep both (the file gets another name) or skip it?`,
  applyToAll: (n) => (n === 1 ? 'Apply to the other clash too' : `Apply to all ${n} other clashes`),
  replace: 'Replace',
  keepBoth: 'Keep both',
  skip: 'Skip',
  quotaWouldPass: (need, free) => `Not uploaded: this needs ${bytes(need)} but only ${bytes(free)} of your storage is free.`,
  quotaExceeded: 'Your storage is full: the file does not fit in your quota.',
  fileInTheWay: (name) => `A file named “${name}” is where a folder should go.`,
});
