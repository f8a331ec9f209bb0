/*
 * doorbell.pml - SPIN model of the ring's doorbell alone (src/ring_pub.c
 * seal(), src/ring_wait.c sleep_on_bell() and ipk__ring_try_light(); the
 * table in src/ring_layout.h) with two sleepers at once: the publisher's
 * light and fenced modes and the IPK__RING_FENCED bit they share.
 * ring.pml has the doorbell inside the whole ring with one subscriber;
 * the bit is what makes a second one matter: a sleeper that finds it set
 * calls no membarrier() of its own and relies on whoever set it.
 *
 * What it checks: no lost wake-up. Each sleeper waits until head passes
 * the head it saw; the publisher publishes K times and ends. A sleeper
 * left in FUTEX_WAIT for ever is an invalid end state (the sleep slice,
 * which would end it, is left out).
 *
 * The light store of head waits in a store buffer (pending) that only
 * loads pass: drain() empties it at any time, as do the publisher's
 * locked instructions and fences and a sleeper's membarrier() (the barrier
 * it puts into the publisher's instruction stream). A later store
 * replaces the value waiting there (heads only grow, and the buffer drains
 * in order). The fenced publisher may try to go light whenever a publish
 * found no sleeper (QUIET_PUBLISHES abstracted to any number).
 *
 * Build with -DBUG_NOBARRIER (a sleeper of a light publisher calls no
 * membarrier()), -DBUG_NOACK (a light publish that finds the bit neither
 * fences nor looks again) or -DBUG_BITFIRST (the bit set before the
 * barrier, so the other sleeper can trust a barrier not yet made): the
 * checker must then find an error (tests/model/run-spin.sh asserts that
 * it does).
 */
#define K 4      /* publishes */
#define NONE 255 /* the store buffer is empty */

byte head = 0;
byte pending = NONE;
byte sleepers = 0; /* the count in the sleepers word */
bit fenced = 1;    /* IPK__RING_FENCED: set at creation */
byte futex = 0;

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
	byte v = 0, n;
	bit pf = 1; /* r->fenced */

	do
	:: v < K ->
		v++;
		if
		:: pf ->
			/* seq_cst exchange of head, seq_cst load of the word */
			atomic { flush(); head = v };
			atomic { n = sleepers; pf = fenced };
			/* ipk__ring_try_light(): FENCED alone -> 0 */
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
			/* light: release store, relaxed load that passes it */
			pending = v;
			atomic { n = sleepers; pf = fenced };
#ifndef BUG_NOACK
			if
			:: pf -> flush(); n = sleepers /* fence, look again */
			:: else -> skip
			fi
#endif
		fi;
		if
		:: n > 0 -> flush(); futex++ /* locked increment, FUTEX_WAKE */
		:: else -> skip
		fi
	:: else -> break
	od
}

/* sleep_on_bell() until head passes what it saw, K published at most */
proctype sleeper()
{
	byte h, w;

	do
	:: h = head;
		if
		:: h >= K -> break
		:: else ->
			atomic { sleepers++; w = fenced };
			if
			:: !w ->
#if defined(BUG_NOBARRIER)
				fenced = 1
#elif defined(BUG_BITFIRST)
				fenced = 1;
				flush()
#else
				flush(); /* membarrier(GLOBAL_EXPEDITED) */
				fenced = 1
#endif
			:: else -> skip
			fi;
			w = futex;
			if
			:: head <= h -> (futex != w) /* FUTEX_WAIT until woken */
			:: else -> skip
			fi;
			sleepers--
		fi
	od
}

init
{
	atomic { run sleeper(); run sleeper() }
}
