package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/dialerhq/dialer/internal/lab"
)

// class is one kind of contact in the chaos campaign: what the simulator answers to each of
// its dials, and what the dialer must make of it under the campaign's retry policy
// (maxAttempts 3, retryOn busy and no-answer).
type class struct {
	name string
	// script is the outcome of the contact's 1st, 2nd, … dial (simulator.Config.Script);
	// past its end the last one repeats.
	script []string
	// outcome and attempts are the final outcome and the dials the contact must end with.
	outcome  string
	attempts int
	// weight is the class's share of the contacts, out of the sum of all weights.
	weight int
}

// classes are the contacts of the chaos campaign. Their expected outcome and attempts are
// written out by hand rather than derived from the scripts, so that TestClasses can check
// them against an independent reading of the retry policy.
var classes = []class{
	{name: "completed at once", script: []string{"completed"}, outcome: "completed", attempts: 1, weight: 50},
	{name: "busy, then completed", script: []string{"busy", "completed"}, outcome: "completed", attempts: 2, weight: 15},
	{name: "no-answer, busy, then completed", script: []string{"no-answer", "busy", "completed"}, outcome: "completed", attempts: 3, weight: 5},
	{name: "no-answer every time", script: []string{"no-answer"}, outcome: "no-answer", attempts: 3, weight: 15},
	{name: "busy every time", script: []string{"busy"}, outcome: "busy", attempts: 3, weight: 5},
	{name: "failed (not retried)", script: []string{"failed"}, outcome: "failed", attempts: 1, weight: 10},
}

// The chaos campaign's retry policy, which the classes' expectations assume.
const (
	maxAttempts = 3
	retryDelay  = 2 * time.Second
)

// retryOn are the outcomes the chaos campaign dials again.
var retryOn = []string{"busy", "no-answer"}

// contact is one row of the chaos campaign's contact file and what must become of it.
type contact struct {
	row    int    // 1-based data row, the dialer's contact ID
	number string // E.164, as written in the file
	class  *class
}

// areaCodes are real US area codes; libphonenumber holds every number of their 555
// exchange valid, so each gives 10,000 distinct numbers.
var areaCodes = []int{201, 212, 213, 305, 312, 404, 415, 503, 512, 617}

// maxContacts is how many distinct numbers plan can make.
var maxContacts = len(areaCodes) * 10000

// numberOf returns the E.164 number of 0-based row i: area code areaCodes[i mod len], line
// i div len of the 555 exchange, so rows 0 to maxContacts-1 get distinct numbers.
func numberOf(i int) string {
	return fmt.Sprintf("+1%d555%04d", areaCodes[i%len(areaCodes)], i/len(areaCodes))
}

// plan returns n contacts, each of a class drawn by weight from a generator seeded with
// seed, so the same n and seed give the same campaign. It returns an error if n is not in
// 1..maxContacts.
func plan(n int, seed uint64) ([]contact, error) {
	if n < 1 || n > maxContacts {
		return nil, fmt.Errorf("%d contacts: want 1 to %d", n, maxContacts)
	}
	total := 0
	for _, c := range classes {
		total += c.weight
	}
	rng := rand.New(rand.NewPCG(seed, 0xc4a05))
	out := make([]contact, n)
	for i := range out {
		x := rng.IntN(total)
		k := 0
		for x >= classes[k].weight {
			x -= classes[k].weight
			k++
		}
		out[i] = contact{row: i + 1, number: numberOf(i), class: &classes[k]}
	}
	return out, nil
}

// scriptOf returns the simulator script of contacts: number → outcomes of its dials.
func scriptOf(contacts []contact) map[string][]string {
	s := make(map[string][]string, len(contacts))
	for _, c := range contacts {
		s[c.number] = c.class.script
	}
	return s
}

// expectedDials returns the dials contacts must take in all.
func expectedDials(contacts []contact) int {
	n := 0
	for _, c := range contacts {
		n += c.class.attempts
	}
	return n
}

// writeContacts writes contacts as a CSV file at path: name, phone, appointment.
func writeContacts(path string, contacts []contact) error {
	return lab.WriteFile(path, func(out io.Writer) error {
		w := csv.NewWriter(out)
		_ = w.Write([]string{"name", "phone", "appointment"})
		for _, c := range contacts {
			_ = w.Write([]string{"Patient " + strconv.Itoa(c.row), c.number, fmt.Sprintf("Tue %d:%02d", 8+c.row%9, c.row%4*15)})
		}
		w.Flush()
		return w.Error()
	})
}
