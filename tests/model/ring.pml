/*
 * ring.pml - SPIN model of the broadcast ring's publish/validate protocol,
 * its commit word and its doorbell (src/ring_*.c), checked exhaustively for
 * one publisher and one subscriber (a second one multiplies the states
 * without adding an interaction: subscribers never touch each other).
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
 * Build with -DBUG_ORDER, -DBUG_NOWAKE, -DBUG_SLACK, -DBUG_NOMARK or
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
byte futex = 0;     /* doorbell: the futex word */

active proctype publisher()
{
	byte s = 0, b, i;

	do
	:: s < N ->
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
		head = s + b; /* seal(): seq_cst exchange of head */
		/* then the sleepers count (seq_cst load) */
		if
		:: sleepers > 0 -> futex++ /* + FUTEX_WAKE */
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
			/* wait_data(): count ourselves, read the word, look again */
			sleepers++;
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
