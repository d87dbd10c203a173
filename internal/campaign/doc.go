// Package campaign holds what a campaign is made of and where it is kept: the campaign file
// (File, ParseFile), the outcomes a contact can end with (Outcome), and the campaign's state
// in Redis (Store).
//
// dialer upload parses the campaign file, checks the contact file's structure with
// contactcsv.Check, then reads it again row by row (contactcsv.Reader), turning each number
// into E.164 (phone.Normalize) and storing one contact per row. Workers read the File back
// from the Store to dial, retry and poll.
package campaign
