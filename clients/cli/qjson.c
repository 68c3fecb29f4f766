#include "qjson.h"

#include <stdbool.h>
#include <string.h>

static const struct {
    const char *name;
    Floorwalker__Query__Kind kind;
} kinds[] = {
    {"stats", FLOORWALKER__QUERY__KIND__STATS},
    {"quarantine", FLOORWALKER__QUERY__KIND__QUARANTINE},
    {"sales", FLOORWALKER__QUERY__KIND__SALES},
    {"top-skus", FLOORWALKER__QUERY__KIND__TOP_SKUS},
    {"bottom-skus", FLOORWALKER__QUERY__KIND__BOTTOM_SKUS},
    {"categories", FLOORWALKER__QUERY__KIND__CATEGORIES},
    {"cashiers", FLOORWALKER__QUERY__KIND__CASHIERS},
    {"complaints", FLOORWALKER__QUERY__KIND__COMPLAINTS},
    {"stock", FLOORWALKER__QUERY__KIND__STOCK},
    {"attendance", FLOORWALKER__QUERY__KIND__ATTENDANCE},
    {"alerts", FLOORWALKER__QUERY__KIND__ALERTS},
    {"spotcheck", FLOORWALKER__QUERY__KIND__SPOTCHECK},
    {"stores", FLOORWALKER__QUERY__KIND__STORES},
};

Floorwalker__Query__Kind query_kind_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(name, kinds[i].name))
            return kinds[i].kind;
    return 0;
}

const char *query_kind_names(void)
{
    return "stats, quarantine, sales, top-skus, bottom-skus, categories, cashiers, complaints, "
           "stock, attendance, alerts, spotcheck, stores";
}

json_t *qjson_cell(const Floorwalker__Value *v)
{
    switch (v->v_case) {
    case FLOORWALKER__VALUE__V_S:
        return json_string(v->s);
    case FLOORWALKER__VALUE__V_I:
        return json_integer(v->i);
    case FLOORWALKER__VALUE__V_D:
        return json_real(v->d);
    default:
        return json_null();
    }
}

json_t *qjson_row(const Floorwalker__Table *t, const Floorwalker__Row *row, bool table_key)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (table_key)
        json_object_set_new(o, "table", json_string(t->name));
    for (size_t c = 0; c < t->n_columns && c < row->n_cells; c++)
        json_object_set_new(o, t->columns[c], qjson_cell(row->cells[c]));
    return o;
}

json_t *qjson_rows(const Floorwalker__QueryResult *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->n_tables; i++)
        for (size_t rr = 0; rr < r->tables[i]->n_rows; rr++)
            json_array_append_new(a,
                                  qjson_row(r->tables[i], r->tables[i]->rows[rr], r->n_tables > 1));
    return a;
}

static json_t *enum_json(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    return ev ? json_string(ev->name) : json_integer(v);
}

/* A singular scalar field of a message as JSON (enums by name); NULL for the kinds an Alert
 * does not have (bytes, messages, repeated fields). */
static json_t *field_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
    const char *p = (const char *)m + fd->offset;
    if (fd->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        return json_string(*(char *const *)p ? *(char *const *)p : "");
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_integer((json_int_t) * (const uint64_t *)p);
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *)p);
    case PROTOBUF_C_TYPE_FLOAT:
        return json_real(*(const float *)p);
    case PROTOBUF_C_TYPE_ENUM:
        return enum_json(fd->descriptor, *(const int *)p);
    default:
        return NULL;
    }
}

json_t *qjson_alert(const Floorwalker__Alert *a)
{
    json_t *o = json_object();
    const ProtobufCMessageDescriptor *d = &floorwalker__alert__descriptor;
    for (unsigned i = 0; o && i < d->n_fields; i++) {
        json_t *v = field_json(&a->base, &d->fields[i]);
        if (v)
            json_object_set_new(o, d->fields[i].name, v);
    }
    return o;
}
