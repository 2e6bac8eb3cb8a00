package store

import (
	"context"
	"sync"
)

// Watchers fans change notifications out to the functions given to Store.Watch: each watcher has its
// own goroutine and an unbounded queue, so that Notify never blocks a writer and a slow watcher delays
// only itself, and it sees names in the order Notify was called. Bolt uses it; so may other stores.
// The zero value is ready to use.
type Watchers struct {
	mu     sync.Mutex
	list   map[*watcher]struct{}
	closed bool
	wg     sync.WaitGroup
}

type watcher struct {
	ctx   context.Context // no call of fn starts once it has ended
	fn    func(name string)
	mu    sync.Mutex
	queue []string
	wake  chan struct{} // capacity 1: a pending wake-up
	done  chan struct{} // closed to stop the watcher
	once  sync.Once
}

// Add starts calling fn for every name notified from now on, until ctx ends or Close: once ctx has
// ended no call of fn starts (one in progress finishes).
func (ws *Watchers) Add(ctx context.Context, fn func(name string)) {
	w := &watcher{ctx: ctx, fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	ws.mu.Lock()
	if ws.closed {
		ws.mu.Unlock()
		return
	}
	if ws.list == nil {
		ws.list = map[*watcher]struct{}{}
	}
	ws.list[w] = struct{}{}
	ws.wg.Add(2)
	ws.mu.Unlock()
	go func() { // ends the watcher with its context
		defer ws.wg.Done()
		select {
		case <-ctx.Done():
			ws.remove(w)
		case <-w.done:
		}
	}()
	go func() {
		defer ws.wg.Done()
		w.loop()
	}()
}

func (ws *Watchers) remove(w *watcher) {
	ws.mu.Lock()
	delete(ws.list, w)
	ws.mu.Unlock()
	w.stop()
}

func (w *watcher) stop() { w.once.Do(func() { close(w.done) }) }

func (w *watcher) loop() {
	for {
		select {
		case <-w.done:
			return
		case <-w.wake:
		}
		for {
			w.mu.Lock()
			if len(w.queue) == 0 {
				w.mu.Unlock()
				break
			}
			name := w.queue[0]
			w.queue = w.queue[1:]
			w.mu.Unlock()
			select {
			case <-w.done:
				return
			default:
			}
			if w.ctx.Err() != nil {
				return // the remover goroutine may not have run yet; the caller's cancel is final
			}
			w.fn(name)
		}
	}
}

// Notify queues name for every watcher. Callers that need the log order call it in that order (Bolt
// calls it while it still holds its write lock).
func (ws *Watchers) Notify(name string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.list {
		w.mu.Lock()
		w.queue = append(w.queue, name)
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// Close stops every watcher and waits for their goroutines (a call of fn in progress finishes first);
// later Adds do nothing. fn must not call Close.
func (ws *Watchers) Close() {
	ws.mu.Lock()
	ws.closed = true
	list := ws.list
	ws.list = nil
	ws.mu.Unlock()
	for w := range list {
		w.stop()
	}
	ws.wg.Wait()
}
