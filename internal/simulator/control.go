package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// list serves List Calls (api-reference/calls/list-calls): the calls
// created in [startDate, endDate], in creation order (which is also startAt
// order here, since startAt is when the call was placed), reversed when
// sort starts with "-".
func (s *Server) list(now time.Time, base string, q url.Values, acct string) reply {
	lq, problems := parseList(q)
	if len(problems) > 0 {
		return jsonReply(http.StatusUnprocessableEntity, map[string]any{"detail": problems})
	}
	var match []*call
	for _, c := range s.order {
		if c.account == acct && !c.created.Before(lq.start) && !c.created.After(lq.end) {
			match = append(match, c)
		}
	}
	if lq.desc {
		slices.Reverse(match)
	}
	page := []CallObject{}
	from := min((lq.page-1)*lq.size, len(match))
	for _, c := range match[from:min(from+lq.size, len(match))] {
		page = append(page, c.view(now, s.controlURL(base, c.id), s.cfg.AnalysisDelay))
	}
	return jsonReply(http.StatusOK, map[string]any{"totalCount": len(match), "conversations": page})
}

// Control types (api-reference/calls/control).
var controlTypes = []string{"say", "end", "forward", "dtmf", "sms"}

// control serves Call Control (api-reference/calls/control):
//
//   - "end" ends a live call at once. The control API acts for the
//     assistant's side of the call, so an answered call ends "completed"
//     with callEndTriggerBy "assistant"; a call still ringing ends
//     "no-answer" with callEndTriggerBy "". Ending an ended call succeeds
//     and changes nothing, so a client may safely send it again.
//   - "say" adds message as an assistant turn to the transcript; "dtmf"
//     is accepted; both need an answered call.
//   - "forward" needs an answered call and ends it with status
//     "forwarded" (phoneCallStatus "completed"), message being the
//     destination.
//   - "sms" is accepted while the call is live.
//
// Anything but "end" on an ended call, and "say", "dtmf" or "forward" on
// an unanswered one, is 400 {"message": ...}.
func (s *Server) control(now time.Time, id string, body []byte) reply {
	c, ok := s.calls[id]
	if !ok {
		return messageReply(http.StatusNotFound, "Conversation not found")
	}
	var in struct {
		Type    *string `json:"type"`
		Message string  `json:"message"`
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return jsonReply(http.StatusUnprocessableEntity, map[string]any{"detail": []problem{missing("body")}})
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return jsonReply(http.StatusUnprocessableEntity, map[string]any{"detail": []problem{decodeProblem(err)}})
	}
	switch {
	case in.Type == nil:
		return jsonReply(http.StatusUnprocessableEntity, map[string]any{"detail": []problem{missing("body", "type")}})
	case !slices.Contains(controlTypes, *in.Type):
		return jsonReply(http.StatusUnprocessableEntity, map[string]any{"detail": []problem{{
			Type: "literal_error", Loc: []any{"body", "type"},
			Msg: "Input should be 'say', 'end', 'forward', 'dtmf' or 'sms'", Input: *in.Type,
		}}})
	}
	typ := *in.Type
	switch {
	case c.ended(now) && typ == "end":
		s.controls[typ]++
		return controlled()
	case c.ended(now):
		return messageReply(http.StatusBadRequest, "Call has already ended")
	case typ == "end" && c.answered(now):
		c.end, c.trigger, c.reason = now, "assistant", "Call was ended through call control"
	case typ == "end":
		c.end, c.answerAt, c.outcome, c.trigger = now, time.Time{}, OutcomeNoAnswer, ""
		c.reason = "Call was ended before it was answered"
	case typ == "sms":
	case !c.answered(now):
		return messageReply(http.StatusBadRequest, "Call is not in progress")
	case typ == "say":
		// After every message of the same instant: those may have been
		// announced already by a conversation-update.
		m := message{id: s.uuid(), role: "assistant", text: in.Message, at: now}
		i, _ := slices.BinarySearchFunc(c.messages, now, func(m message, t time.Time) int {
			if m.at.After(t) {
				return 1
			}
			return -1
		})
		c.messages = slices.Insert(c.messages, i, m)
	case typ == "forward":
		c.end, c.forwarded, c.outcome, c.trigger = now, true, OutcomeCompleted, "assistant"
		c.reason = "Call was forwarded to " + in.Message
	}
	s.controls[typ]++
	s.pokeHooks() // an end, a forward or a say is news for the webhooks now
	return controlled()
}

func controlled() reply {
	return jsonReply(http.StatusOK, map[string]any{
		"message": "Call controlled successfully.",
		"data":    map[string]any{"success": true},
	})
}
