package zammadsim

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

type user struct {
	id        int
	login     string
	email     string
	firstname string
	lastname  string
	token     string
	agent     bool
	// perms by group id; all applies to every group.
	perms     map[int]map[string]bool
	all       map[string]bool
	createdAt time.Time
}

type group struct {
	id       int
	name     string
	parentID int
	created  time.Time
}

type state struct {
	id       int
	name     string
	typ      string
	typeID   int
	active   bool
	create   bool
	followUp bool
}

type priority struct {
	id     int
	name   string
	create bool
}

type ticket struct {
	id          int
	number      string
	title       string
	groupID     int
	stateID     int
	priorityID  int
	ownerID     int
	customerID  int
	typ         any
	pendingTime *time.Time
	closeAt     *time.Time
	lastCloseAt *time.Time
	lastContact *time.Time
	articleIDs  []int
	tags        []string
	extra       map[string]any
	preferences map[string]any
	createType  int
	createSend  int
	createdBy   int
	updatedBy   int
	createdAt   time.Time
	updatedAt   time.Time
}

type article struct {
	id          int
	ticketID    int
	typ         string
	sender      string
	from        string
	to          string
	subject     string
	body        string
	contentType string
	internal    bool
	createdBy   int
	createdAt   time.Time
}

// link is a stored triple: "source is the typ of target".
type link struct {
	id        int
	typ       string
	source    int
	target    int
	createdAt time.Time
}

type store struct {
	users      []*user
	groups     []*group
	states     []*state
	priorities []*priority
	tickets    map[int]*ticket
	ticketIDs  []int // creation order = id order
	byNumber   map[string]*ticket
	articles   map[int]*article
	links      []*link
	knownTags  map[string]bool

	nextTicketID  int
	nextNumber    int
	nextArticleID int
	nextLinkID    int
}

// Zammad's stock ids for article types and senders, used in ticket JSON.
var (
	articleTypeIDs   = map[string]int{"email": 1, "sms": 2, "chat": 3, "fax": 4, "phone": 5, "twitter status": 6, "twitter direct-message": 7, "facebook feed post": 8, "facebook feed comment": 9, "note": 10, "web": 11}
	articleSenderIDs = map[string]int{"Agent": 1, "Customer": 2, "System": 3}
	stateTypeIDs     = map[string]int{"new": 1, "open": 2, "pending reminder": 3, "pending action": 4, "closed": 5, "merged": 6, "removed": 7}
	linkTypeIDs      = map[string]int{"normal": 1, "parent": 2, "child": 3}
)

func newStore(opts Options, now time.Time) *store {
	db := &store{
		tickets:       map[int]*ticket{},
		byNumber:      map[string]*ticket{},
		articles:      map[int]*article{},
		knownTags:     map[string]bool{},
		nextTicketID:  opts.FirstTicketID,
		nextNumber:    opts.FirstTicketNumber,
		nextArticleID: 1,
		nextLinkID:    1,
	}
	if db.nextTicketID <= 0 {
		db.nextTicketID = 1000
	}
	if db.nextNumber <= 0 {
		db.nextNumber = 10100
	}
	for _, t := range opts.KnownTags {
		db.knownTags[t] = true
	}

	groups := opts.Groups
	if len(groups) == 0 {
		groups = []string{DefaultGroup}
	}
	for _, g := range groups {
		db.addGroup(g, now)
	}

	states := opts.States
	if len(states) == 0 {
		states = DefaultStates()
	}
	for i, st := range states {
		typeID, ok := stateTypeIDs[st.Type]
		if !ok {
			typeID = stateTypeIDs["open"]
		}
		db.states = append(db.states, &state{
			id: i + 1, name: st.Name, typ: st.Type, typeID: typeID,
			active: st.Type != "removed",
		})
	}
	markDefault := func(name, typ string, set func(*state)) {
		for _, st := range db.states {
			if st.name == name {
				set(st)
				return
			}
		}
		for _, st := range db.states {
			if st.typ == typ {
				set(st)
				return
			}
		}
		set(db.states[0])
	}
	markDefault("new", "new", func(st *state) { st.create = true })
	markDefault("open", "open", func(st *state) { st.followUp = true })

	db.priorities = []*priority{{1, "1 low", false}, {2, "2 normal", true}, {3, "3 high", false}}

	// Zammad's system user: the owner of unassigned tickets.
	db.users = append(db.users, &user{id: 1, login: "-", createdAt: now, perms: map[int]map[string]bool{}})
	users := opts.Users
	if len(users) == 0 {
		users = []User{{Login: DefaultLogin, Email: DefaultLogin, Firstname: "procbot", Token: DefaultToken, Agent: true,
			Groups: map[string][]string{"*": {"full"}}}}
	}
	for _, u := range users {
		nu := &user{
			id: len(db.users) + 1, login: u.Login, email: u.Email, firstname: u.Firstname, lastname: u.Lastname,
			token: u.Token, agent: u.Agent, perms: map[int]map[string]bool{}, createdAt: now,
		}
		if nu.login == "" {
			nu.login = nu.email
		}
		for name, levels := range u.Groups {
			set := map[string]bool{}
			for _, l := range levels {
				set[l] = true
			}
			if name == "*" {
				nu.all = set
				continue
			}
			g := db.addGroup(name, now)
			nu.perms[g.id] = set
		}
		db.users = append(db.users, nu)
	}
	return db
}

// addGroup creates the group and its missing parents; it returns the group.
func (db *store) addGroup(full string, now time.Time) *group {
	if g := db.groupByName(full); g != nil {
		return g
	}
	parentID := 0
	if i := strings.LastIndex(full, "::"); i >= 0 {
		parentID = db.addGroup(full[:i], now).id
	}
	g := &group{id: len(db.groups) + 1, name: full, parentID: parentID, created: now}
	db.groups = append(db.groups, g)
	return g
}

func (db *store) groupByName(name string) *group {
	for _, g := range db.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

func (db *store) group(id int) *group {
	if id >= 1 && id <= len(db.groups) {
		return db.groups[id-1]
	}
	return nil
}

func (db *store) stateByName(name string) *state {
	for _, st := range db.states {
		if st.name == name {
			return st
		}
	}
	return nil
}

func (db *store) state(id int) *state {
	if id >= 1 && id <= len(db.states) {
		return db.states[id-1]
	}
	return nil
}

func (db *store) defaultState(followUp bool) *state {
	for _, st := range db.states {
		if (!followUp && st.create) || (followUp && st.followUp) {
			return st
		}
	}
	return db.states[0]
}

func (db *store) priorityByName(name string) *priority {
	for _, p := range db.priorities {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (db *store) priority(id int) *priority {
	if id >= 1 && id <= len(db.priorities) {
		return db.priorities[id-1]
	}
	return nil
}

func (db *store) defaultPriority() *priority {
	for _, p := range db.priorities {
		if p.create {
			return p
		}
	}
	return db.priorities[0]
}

func (db *store) user(id int) *user {
	if id >= 1 && id <= len(db.users) {
		return db.users[id-1]
	}
	return nil
}

// userByName finds a user by login or email, case-insensitively as Zammad
// stores both in lower case.
func (db *store) userByName(name string) *user {
	for _, u := range db.users {
		if u.id == 1 && name != "-" {
			continue
		}
		if strings.EqualFold(u.login, name) || (u.email != "" && strings.EqualFold(u.email, name)) {
			return u
		}
	}
	return nil
}

func (db *store) userByToken(tok string) *user {
	if tok == "" {
		return nil
	}
	for _, u := range db.users {
		if u.token != "" && u.token == tok {
			return u
		}
	}
	return nil
}

func (db *store) addCustomer(email string, now time.Time) *user {
	u := &user{id: len(db.users) + 1, login: strings.ToLower(email), email: strings.ToLower(email),
		perms: map[int]map[string]bool{}, createdAt: now}
	db.users = append(db.users, u)
	return u
}

func (db *store) ticketByNumber(number string) *ticket { return db.byNumber[number] }

func (u *user) has(groupID int, level string) bool {
	if u.all != nil && (u.all[level] || u.all["full"]) {
		return true
	}
	p := u.perms[groupID]
	return p[level] || p["full"]
}

func (u *user) canRead(t *ticket) bool {
	if u.agent && u.has(t.groupID, "read") {
		return true
	}
	return t.customerID == u.id
}

// canChange is the right to update the ticket or write on it. Customers may
// write articles on their own tickets.
func (u *user) canChange(t *ticket) bool {
	if u.agent && u.has(t.groupID, "change") {
		return true
	}
	return t.customerID == u.id
}

func (u *user) name() string {
	if u == nil {
		return ""
	}
	return u.login
}

func (db *store) userName(id int) string { return db.user(id).name() }

func (t *ticket) hasTag(tag string) bool {
	for _, x := range t.tags {
		if x == tag {
			return true
		}
	}
	return false
}

// Ticket is a snapshot of a simulated ticket, with names resolved.
type Ticket struct {
	ID           int
	Number       string
	Title        string
	Group        string
	State        string
	StateType    string
	Priority     string
	Owner        string
	Customer     string
	Tags         []string
	Extra        map[string]any
	ArticleCount int
	CloseAt      *time.Time
	LastCloseAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	CreatedBy    string
	UpdatedBy    string
}

// Article is a snapshot of a simulated article.
type Article struct {
	ID          int
	TicketID    int
	Type        string
	Sender      string
	Subject     string
	Body        string
	ContentType string
	Internal    bool
	To          string // an email article's recipients
	CreatedBy   string
	CreatedAt   time.Time
}

// Link is a stored link: Source is the Type ("normal", "parent", "child")
// of Target. Source and Target are ticket ids.
type Link struct {
	Type   string
	Source int
	Target int
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func (db *store) snapshot(t *ticket) Ticket {
	st := db.state(t.stateID)
	extra := map[string]any{}
	for k, v := range t.extra {
		extra[k] = v
	}
	return Ticket{
		ID: t.id, Number: t.number, Title: t.title,
		Group: db.group(t.groupID).name, State: st.name, StateType: st.typ,
		Priority: db.priority(t.priorityID).name, Owner: db.userName(t.ownerID), Customer: db.userName(t.customerID),
		Tags: append([]string(nil), t.tags...), Extra: extra, ArticleCount: len(t.articleIDs),
		CloseAt: copyTime(t.closeAt), LastCloseAt: copyTime(t.lastCloseAt),
		CreatedAt: t.createdAt, UpdatedAt: t.updatedAt,
		CreatedBy: db.userName(t.createdBy), UpdatedBy: db.userName(t.updatedBy),
	}
}

// Tickets returns a snapshot of every ticket, by id.
func (s *Server) Tickets() []Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Ticket, 0, len(s.db.ticketIDs))
	for _, id := range s.db.ticketIDs {
		out = append(out, s.db.snapshot(s.db.tickets[id]))
	}
	return out
}

// Ticket returns a snapshot of one ticket by id.
func (s *Server) Ticket(id int) (Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.db.tickets[id]
	if !ok {
		return Ticket{}, false
	}
	return s.db.snapshot(t), true
}

// Articles returns a snapshot of a ticket's articles, oldest first.
func (s *Server) Articles(ticketID int) []Article {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.db.tickets[ticketID]
	if !ok {
		return nil
	}
	var out []Article
	for _, id := range t.articleIDs {
		a := s.db.articles[id]
		out = append(out, Article{ID: a.id, TicketID: a.ticketID, Type: a.typ, Sender: a.sender, Subject: a.subject,
			Body: a.body, ContentType: a.contentType, Internal: a.internal, To: a.to, CreatedBy: s.db.userName(a.createdBy), CreatedAt: a.createdAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Links returns every stored link triple, oldest first.
func (s *Server) Links() []Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Link, 0, len(s.db.links))
	for _, l := range s.db.links {
		out = append(out, Link{Type: l.typ, Source: l.source, Target: l.target})
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
