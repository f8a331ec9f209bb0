/*
 * ring.pml - SPIN model of the broadcast ring's publish/validate protocol
 * and its doorbell (src/ring.c), checked exhaustively for one publisher and
 * one subscriber (a second one multiplies the states without adding an
 * interaction: subscribers never touch each other).
 *
 * What it checks:
 *   1. a subscriber never accepts a torn or overwritten record: every
 *      record it validates holds the message committed at its position
 *      (assert);
 *   2. no lost wake-up: a subscriber asleep on the futex word is always
 *      woken when the publisher commits (SPIN reports a subscriber blocked
 *      forever as an invalid end state).
 * What it does not check: C11 weak orderings. SPIN interleaves statements
 * sequentially consistently; the memory orders that give this order on real
 * hardware are argued in the comments of ring.c and checked by
 * ThreadSanitizer in tests/ring/threads.c.
 *
 * The ring has SLOTS one-slot records; a record is two words written one
 * after the other, so a read can be torn. Positions are message numbers.
 * Build with -DBUG_ORDER, -DBUG_NOWAKE or -DBUG_SLACK to get the protocol
 * wrong in one place each: the checker must then find an error (the runner,
 * tests/model/run-spin.sh, asserts that it does).
 */
#define SLOTS 4
#define N 8      /* messages published */
#define SLACK 2  /* a PAD plus a largest record, in slots */

byte w0[SLOTS];
byte w1[SLOTS];
byte head = 0;     /* end of the last committed record */
byte tail = 0;     /* overwrite intent: oldest intact record */
byte sleepers = 0; /* doorbell: subscribers in FUTEX_WAIT */
byte futex = 0;    /* doorbell: the futex word */

active proctype publisher()
{
	byte s = 0;

	do
	:: s < N ->
#ifndef BUG_ORDER
		/* make_room(): tail first, then (release fence) the bytes; tail
		 * moves past what the record needs, or on by up to a step more
		 * (TAIL_STEP in ring.c), never past head */
		if
		:: s + 1 > SLOTS ->
			tail = s + 1 - SLOTS;
			if
			:: tail < s -> tail++
			:: skip
			fi
		:: else -> skip
		fi;
#endif
		w0[s % SLOTS] = s;
		w1[s % SLOTS] = s;
#ifdef BUG_ORDER
		if
		:: s + 1 > SLOTS -> tail = s + 1 - SLOTS
		:: else -> skip
		fi;
#endif
#ifdef BUG_NOWAKE
		/* sleepers read before head is stored: the store-load pair broken */
		if
		:: sleepers > 0 -> futex++
		:: else -> skip
		fi;
		head = s + 1;
#else
		head = s + 1; /* commit(): seq_cst exchange of head */
		/* then the sleepers count (seq_cst load) */
		if
		:: sleepers > 0 -> futex++ /* + FUTEX_WAKE */
		:: else -> skip
		fi;
#endif
		s++
	:: else -> break
	od
}

active proctype subscriber()
{
	byte p = 0, h, a, b, t, w;

	do
	:: p >= N -> break
	:: p < N ->
		h = head; /* acquire */
		if
		:: p < h ->
			/* copy the record (relaxed loads) */
			a = w0[p % SLOTS];
			b = w1[p % SLOTS];
			/* intact(): acquire fence, then tail, then maybe head */
			t = tail;
			if
			:: t <= p ->
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
					assert(a == p && b == p);
					p++
				:: else ->
					p = t /* lapped: jump to the oldest intact record */
				fi
			fi;
			a = 0;
			b = 0;
			t = 0;
			h = 0
		:: else ->
			/* wait_data(): count ourselves, read the word, look again */
			sleepers++;
			w = futex;
			if
			:: head == p -> (futex != w) /* FUTEX_WAIT until woken */
			:: else -> skip
			fi;
			sleepers--;
			w = 0;
			h = 0
		fi
	od
}
