/*
 * ring.pml - SPIN model of the broadcast ring's publish/validate protocol,
 * its commit word and its doorbell (src/ring_*.c), checked exhaustively for
 * one publisher and one subscriber (a second one multiplies the states; the
 * one thing subscribers share, the doorbell's fenced bit, is checked with
 * two sleepers in doorbell.pml).
 *
 * What it checks:
 *   1. a subscriber never accepts a torn or overwritten record: every
 *      record it validates holds the message committed at its position
 *      (assert);
 *   2. it never takes a record before its commit, even when the bytes at
 *      its position, left from an earlier lap, look exactly like the
 *      record it expects (assert);
 *   3. no lost wake-up: a subscriber asleep on the futex word is always
 *      woken when the publisher commits (SPIN reports a subscriber blocked
 *      forever as an invalid end state).
 * What it does not check: C11 weak orderings. SPIN interleaves statements
 * sequentially consistently; the memory orders that give this order on real
 * hardware are the table in src/ring_layout.h, argued in the comments of
 * src/ring_*.c and checked by ThreadSanitizer in tests/ring/threads.c.
 *
 * The ring has SLOTS one-slot records; a record is two words written one
 * after the other (w0, then the seq word w1, the commit word), so a read
 * can be torn. Positions are message numbers. Before it commits message s,
 * the publisher writes the mark (NONE) into the seq word of slot s + 1; in
 * the ring a record's bytes may before that hold anything, including a
 * header that looks like message s + 1's - the model writes exactly that
 * lookalike there (nondeterministically) just before the mark.
 * The publisher commits one record at a time or a batch of two
 * (ipk_ring_publish_batch()): both written, then their commit words, the
 * second's first, then head once.
 * The doorbell has the publisher's two modes (ring_layout.h): fenced, its
 * store of head and load of the sleepers word in one order for all, and
 * light, where the store waits in a store buffer (pending) while the load
 * goes ahead; a sleeper that finds the mode light calls membarrier(),
 * modelled as draining that buffer, then sets the fenced bit; a light
 * publisher that finds the bit fences (drains) and loads the word again. The publisher
 * goes light whenever it finds no sleeper (QUIET_PUBLISHES abstracted to
 * any number), so every interleaving of modes is checked.
 * Build with -DBUG_ORDER, -DBUG_NOWAKE, -DBUG_SLACK, -DBUG_NOMARK,
 * -DBUG_NOBARRIER (a sleeper of a light publisher without membarrier()),
 * -DBUG_NOACK (a light publisher that sees the fenced bit and stays light
 * for the publish under way) or
 * -DBUG_BATCH (a batch of three: more than SLACK past head before head
 * moves) to get the protocol wrong in one place each: the checker must
 * then find an error (the runner, tests/model/run-spin.sh, asserts that it
 * does).
 */
#define SLOTS 4
#define N 8      /* messages published */
#define SLACK 3  /* a PAD plus a largest record, in slots: a record is one
		  * slot, a largest one and a half */
#define NONE 255 /* SEQ_NONE */

byte w0[SLOTS];
byte w1[SLOTS] = NONE; /* a fresh ring is marked (init_fresh()) */
byte head = 0;      /* end of the last committed record */
byte tail = 0;      /* overwrite intent: oldest intact record */
byte committed = 0; /* ghost: messages whose commit word is stored */
byte sleepers = 0;  /* doorbell: subscribers in FUTEX_WAIT */
bit fenced = 1;     /* doorbell: IPK__RING_FENCED in the sleepers word */
byte futex = 0;     /* doorbell: the futex word */
/* A light publisher's store of head, not yet seen by the other CPU: a
 * store buffer of one entry (NONE: empty), drained by drain() at any time,
 * before the publisher's next store (stores are seen in order: the release
 * fence after tail's store orders it), by a locked instruction or fence of the
 * publisher, or by a sleeper's membarrier() (the barrier it puts into the
 * publisher's instruction stream). Only loads pass it. */
byte pending = NONE;

inline flush()
{
	atomic {
		if
		:: pending != NONE -> head = pending; pending = NONE
		:: else -> skip
		fi
	}
}

active proctype drain()
{
end:	do
	:: atomic { pending != NONE -> head = pending; pending = NONE }
	od
}

active proctype publisher()
{
	byte s = 0, b, i, n;
	bit pf = 1; /* seal(): fenced (r->fenced) */

	do
	:: s < N ->
		/* stores become visible in order: the buffered head before
		 * any store of this publish (tail, the records) */
		flush();
		/* a batch of b records (ipk_ring_publish_batch(); 1: ipk_ring_publish()):
		 * the records and the mark after the last stay within SLACK slots
		 * of head (batch_room()) */
		if
		:: b = 1
		:: s + 2 <= N && 3 <= SLACK -> b = 2
#ifdef BUG_BATCH
		:: s + 3 <= N -> b = 3
#endif
		fi;
		i = 0;
		do
		:: i < b ->
#ifndef BUG_ORDER
			/* make_room(): tail first, then (release fence) the bytes;
			 * room for the record and the mark after it; tail moves past
			 * what they need, or on by up to a step more (TAIL_STEP in
			 * ring_internal.h), never past the head subscribers see */
			if
			:: s + i + 2 > SLOTS ->
				tail = s + i + 2 - SLOTS;
				if
				:: tail < head -> tail++
				:: skip
				fi
			:: else -> skip
			fi;
#endif
			/* the bytes of the next slot may hold a lookalike of its record */
			if
			:: w0[(s + i + 1) % SLOTS] = s + i + 1; w1[(s + i + 1) % SLOTS] = s + i + 1
			:: skip
			fi;
			w0[(s + i) % SLOTS] = s + i;
#ifndef BUG_NOMARK
			w1[(s + i + 1) % SLOTS] = NONE; /* the mark */
#endif
#ifdef BUG_ORDER
			if
			:: s + i + 2 > SLOTS -> tail = s + i + 2 - SLOTS
			:: else -> skip
			fi;
#endif
			i++
		:: else -> break
		od;
		/* seal(): the commit words (C, release), the last record's first */
		do
		:: i > 1 -> i--; w1[(s + i) % SLOTS] = s + i
		:: i == 1 -> atomic { w1[s % SLOTS] = s; committed = s + b }; break
		od;
#ifdef BUG_NOWAKE
		/* sleepers read before head is stored: the store-load pair broken */
		if
		:: sleepers > 0 -> futex++
		:: else -> skip
		fi;
		head = s + b;
#else
		if
		:: pf ->
			/* fenced: seq_cst exchange of head (drains the buffer),
			 * then the sleepers word (seq_cst load) */
			atomic { flush(); head = s + b };
			atomic { n = sleepers; pf = fenced };
			/* ipk__ring_try_light() after quiet publishes: from
			 * FENCED alone to 0, or nothing */
			if
			:: n == 0 -> atomic {
					if
					:: sleepers == 0 && fenced -> fenced = 0; pf = 0
					:: else -> skip
					fi
				}
			:: skip
			fi
		:: else ->
			/* light: a plain store of head, into the buffer; the load
			 * of the sleepers word may pass it */
			pending = s + b;
			atomic { n = sleepers; pf = fenced };
			if
			:: pf ->
				/* a sleeper asked for the fence: take it now,
				 * and load the word again */
#ifndef BUG_NOACK
				flush();
				n = sleepers
#else
				skip
#endif
			:: else -> skip
			fi
		fi;
		if
		:: n > 0 -> flush(); futex++ /* locked increment, FUTEX_WAKE */
		:: else -> skip
		fi;
#endif
		s = s + b
	:: else -> break
	od
}

active proctype subscriber()
{
	byte p = 0, hc = 0, h, a, b, t, w;

	do
	:: p >= N -> break
	:: p < N ->
		/* take_here() / locate(): the commit word at p may show the
		 * record (committed_here(), acquire); else head */
		if
		:: w1[p % SLOTS] == p && hc <= p -> hc = p + 1
		:: else -> skip
		fi;
		if
		:: p == hc ->
			h = head; /* acquire */
			if
			:: h > p -> hc = h
			:: else -> skip
			fi
		:: else -> skip
		fi;
		if
		:: p < hc ->
			/* copy the record (relaxed loads) */
			a = w0[p % SLOTS];
			b = w1[p % SLOTS];
			/* intact(): acquire fence, then tail, then maybe head */
			t = tail;
			if
			:: t <= p ->
				assert(p < committed);
				assert(a == p && b == p);
				p++
			:: else ->
				h = head;
#ifdef BUG_SLACK
				if
				:: h - p <= SLOTS ->
#else
				if
				:: h - p <= SLOTS - SLACK ->
#endif
					assert(p < committed);
					assert(a == p && b == p);
					p++
				:: else ->
					/* lapped: jump to the oldest intact record */
					p = t;
					hc = t
				fi
			fi;
			a = 0;
			b = 0;
			t = 0;
			h = 0
		:: else ->
			/* sleep_on_bell(): count ourselves; a light publisher's
			 * store gets its barrier from our membarrier() */
			atomic { sleepers++; w = fenced };
			if
			:: !w ->
#ifndef BUG_NOBARRIER
				flush(); /* membarrier(GLOBAL_EXPEDITED) */
#endif
				fenced = 1
			:: else -> skip
			fi;
			w = futex;
			if
			:: head <= p -> (futex != w) /* FUTEX_WAIT until woken */
			:: else -> skip
			fi;
			sleepers--;
			w = 0;
			h = 0
		fi
	od
}
