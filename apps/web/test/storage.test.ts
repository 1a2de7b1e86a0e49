import { describe, expect, it } from 'vitest';
import { clientIdPattern } from '@chat/protocol';
import { ChatStorage, storageKeys } from '../lib/storage';
import { MemoryStore } from './fixtures';

describe('ChatStorage', () => {
  it('generates the user id once and keeps it, so every tab is the same user', () => {
    const store = new MemoryStore();
    const id = new ChatStorage(store).userId();
    expect(id).toMatch(clientIdPattern);
    expect(new ChatStorage(store).userId()).toBe(id);
  });

  it('replaces a stored user id that is not valid', () => {
    const store = new MemoryStore();
    store.setItem(storageKeys.userId, 'no');
    const id = new ChatStorage(store).userId();
    expect(id).not.toBe('no');
    expect(store.getItem(storageKeys.userId)).toBe(id);
  });

  it('remembers and forgets the name, ignoring invalid ones', () => {
    const store = new MemoryStore();
    const storage = new ChatStorage(store);
    expect(storage.loadName()).toBeNull();
    storage.saveName('Ada');
    expect(storage.loadName()).toBe('Ada');
    storage.clearName();
    expect(storage.loadName()).toBeNull();
    store.setItem(storageKeys.name, '   ');
    expect(storage.loadName()).toBeNull();
  });

  it('loads valid rooms only, distinct, the lobby first; the room in view only if it is one of them', () => {
    const store = new MemoryStore();
    const storage = new ChatStorage(store);
    expect(storage.loadRooms()).toEqual(['lobby']);
    store.setItem(storageKeys.rooms, JSON.stringify(['side', 'Bad Room', 42, 'side', 'lobby']));
    expect(storage.loadRooms()).toEqual(['lobby', 'side']);
    store.setItem(storageKeys.rooms, '{not json');
    expect(storage.loadRooms()).toEqual(['lobby']);
    storage.saveCurrentRoom('side');
    expect(storage.loadCurrentRoom(['lobby', 'side'])).toBe('side');
    expect(storage.loadCurrentRoom(['lobby'])).toBe('lobby');
  });

  it('degrades to memory when storage throws or is missing', () => {
    const throwing = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => {
        throw new Error('SecurityError');
      },
    };
    for (const storage of [new ChatStorage(throwing), new ChatStorage(null)]) {
      const id = storage.userId();
      expect(storage.userId()).toBe(id);
      expect(() => storage.saveName('Ada')).not.toThrow();
      expect(() => storage.clearName()).not.toThrow();
      expect(storage.loadName()).toBeNull();
      expect(storage.loadRooms()).toEqual(['lobby']);
    }
  });
});
