"""Corrected copies of the providers' documented examples (/work/shared/seeds).

The documents are kept as received there; their JSON has typos (trailing commas, a
missing comma, // comments). These are the same texts with only those typos fixed:
white space, key order and values are as printed, so a vector built from one of them
is the provider's own example.

Teamgo examples keep the documented "timestamp" and "signature" values; the generator
replaces them (TEAMGO_SEED_TIMESTAMP, TEAMGO_SEED_SIGNATURE) with a fresh timestamp and
a signature under the vector's key, since the documented signature's key is unknown.
"""

TEAMGO_SEED_TIMESTAMP = "1481274229"
TEAMGO_SEED_TOKEN = "d368b024b8b6427263a41e7a36f0f44e"
TEAMGO_SEED_SIGNATURE = "8860a48a6902e4e2eef766ebf0a17c9939a29ff2043bfeb50bfc93d70bf9cbfd"

# Visitor checkin and checkout (valid JSON as printed, tabs included).
TEAMGO_CHECKOUT = r'''{
  "type": "checkout",
  "timestamp": "1481274229",
  "token": "d368b024b8b6427263a41e7a36f0f44e",
  "signature": "8860a48a6902e4e2eef766ebf0a17c9939a29ff2043bfeb50bfc93d70bf9cbfd",
  "data": {
    "pass_id": "11249854",
    "full_name": "Bob Jones",
    "company": "Teamgo Pty Ltd",
    "email": "bobjones@example.com",
    "mobile": "+610812345678",
    "meeting": [
    	{
		"email":"host1@example.com",
		"full_name":"Host 1"
	},
    	{
		"email":"host2@example.com",
		"full_name":"Host 2"
    	}
    ],
    "terminal": "Terminal 1",
    "location": "Location 1",
    "checkin_time": "2016-12-09T08:44:46+00",
    "checkout_time": "2016-12-09T09:02:11+00",
    "extra_fields": [
	{
		"field": "Are you an American citizen?",
		"value":"Yes"
	}
    ]
  }
}'''

# Request assistance; corrected: the trailing comma removed.
TEAMGO_RQ_ASSISTANCE = r'''{
  "type": "rq_assistance",
  "timestamp": "1481274229",
  "token": "d368b024b8b6427263a41e7a36f0f44e",
  "signature": "8860a48a6902e4e2eef766ebf0a17c9939a29ff2043bfeb50bfc93d70bf9cbfd",
  "data": {
    "message": "Someone is requesting assistance at Main Entrance - Headquarter",
    "terminal": "Main Entrance",
    "location": "Headquarter",
    "request_time": "2016-12-09T08:44:46+00"
  }
}'''

# Delivery check-in; corrected: the missing comma after host_email added, the trailing comma removed.
TEAMGO_COURIER = r'''{
  "type": "courier",
  "timestamp": "1481274229",
  "token": "d368b024b8b6427263a41e7a36f0f44e",
  "signature": "8860a48a6902e4e2eef766ebf0a17c9939a29ff2043bfeb50bfc93d70bf9cbfd",
  "data": {
    "message": "David Lee you have a delivery. Signature required at Main Entrance",
    "terminal": "Main Entrance",
    "location": "Headquarter",
    "host": "David Lee",
    "host_email": "david.lee@company.co",
    "request_time": "2016-12-09T08:44:46+00"
  }
}'''

# Import status; corrected: the trailing comma removed.
TEAMGO_IMPORT_SUCCESS = r'''{
  "type": "import_success",
  "timestamp": "1481274229",
  "token": "d368b024b8b6427263a41e7a36f0f44e",
  "signature": "8860a48a6902e4e2eef766ebf0a17c9939a29ff2043bfeb50bfc93d70bf9cbfd",
  "data": {
    "message": "Your import completed. The data is now updated on the Teamgo Dashboard.",
    "import_time": "2016-12-09T08:44:46+00"
  }
}'''

# event.data of the reservation-* events; corrected: // comments and trailing commas removed.
INLINE_RESERVATION_DATA = r'''{
  "id": "string",
  "tables": [
    { "name": "A1" }
  ],
  "reservationLink": "http://to/reservation",
  "branchId": "string",
  "companyId": "string",
  "customerNote": "string",
  "estimatedReadyTime": 0,
  "note": "string",
  "groupSize": 0,
  "numberOfKidChairs": 0,
  "numberOfKidSets": 0,
  "thirdPartyMember": {
    "memberId": "member-id",
    "type": "vip",
    "provider": "facebook",
    "name": "Ken",
    "phone": "+886988111222",
    "email": "ken@inlineapps.com",
    "address": "3F, No. 30-5號, Beiping East Road, Taipei, Taiwan",
    "gender": 0,
    "birthday": "1986-06-06",
    "language": "zh-tw",
    "note": "I am a note",
    "avatar": "https://example.com/avatar.jpg",
    "metadata": {},
    "updatedTime": 1514247345710,
    "createdTime": 1514247345710
  },
  "order":{
    "id": "a_pos_id",
    "taxId": "12345678",
    "amount": 100,
    "discount": true,
    "items": [
    {
      "name": "item1",
      "quantity": 1.2,
      "value": 100,
      "note": "some note"
    },{
      "name": "item2",
      "quantity": 2,
      "value": 100,
      "note": "some note"
    }
   ]
  },
  "customer": {
    "customerId": "my-id",
    "name": "inline customer",
    "phoneNumber": "+886988111222",
    "email": "rsv@inlineapps.com",
    "gender": "male",
    "language": "zh"
  },
  "contact": {
    "customerId": "my-id",	
    "name": "inline customer",	
    "gender": "male",	
    "phoneNumber": "+886988111222",	
    "language": "zh"	
  },    
  "reservationTime": 0,
  "type": "waiting",
  "state": "waiting",
  "stateChangeTime": 0,
  "serialNumber": "string",
  "canceledBy": "customer",
  "createdTime": 0,
  "createdFrom": "string"
}'''

# event.data of the voucher-* events (valid JSON as printed).
INLINE_VOUCHER_DATA = r'''{
  "ticketId": "a138171",
  "serialNumber": 1,
  "cover": "https://somewhere/to/cover/image",
  "title": "Buy one get one",
  "content": "To celebrate 5-year birthday...",
  "terms": "Can not use this with other vouchers",
  "providerId": "1e911",
  "usedReservationId": "-19982111",
  "usedAt": "2017-07-21T17:32:28Z",
  "createdAt": "2017-07-21T17:32:28Z",
  "expirationType": "never",
  "availableAfter": "2017-07-21T17:32:28Z",
  "availableBefore": "2017-07-21T17:32:28Z",
  "expiredAfter": 14
}'''

# event.data of the order-* events; corrected: // comments removed (structure as printed).
INLINE_ORDER_DATA = r'''{
  "id": "string",
  "serial": "string",
  "companyId": "string",
  "branchId": "string",
  "order": {
    "total": 880,
    "serviceFee": 0,
    "tax": 0,
    "deliveryFee": 0,
    "depositAmount": 0,
    "currency": "TWD",
    "subtotal": 880,
    "items": [
      {
        "itemId": "5705",
        "orderItemId": "4328_5705_1",
        "modifierFor": null,
        "modifierId": null,
        "modifierName": null,
        "parentItemId": null,
        "quantity": 1,
        "promotionId": null,
        "promotionPrice": null,
        "price": 880,
        "note": "item note",
        "specialPrice": null,
        "prepayPrice": null,
        "name": {
          "en": "Sample Meal Set",
          "zh-tw": "範例套餐"
          },
        "modifiers": [
          {
            "itemId": "5030",
            "orderItemId": "4328_5705_1_5030_0",
            "modifierFor": "4328_5705_1",
            "modifierId": "1",
            "modifierName": {
              "zh-tw": "ENTRÉE 前菜"
              },
            "parentItemId": 5705,
            "quantity": 1,
            "promotionId": null,
            "promotionPrice": null,
            "price": 0,
            "note": null,
            "specialPrice": null,
            "prepayPrice": null,
            "name": {
              "en": "Fried Rice with Crispy Lemongrass Fride Chicken",
              "zh-tw": "香茅炸雞招牌炒飯"
              }
          }
        ],
    "gifts": []
     }
    ],
  "state": "pickedup", 
  "delivery": {
    "address": {
      "line1": "string",
      "line2": "string",
      "lat": 25.0766335,
      "lng": 121.5270664
    },
  "note": "string",
  "contactMethod": "outside-door",
  "carrier": {
    "provider": "string",
    "lookupURL": "string",
    "driver": "Driver name",
    "phone": "string",
    "license": "string",
    "note": "string"
    }
  },
  "note": "string",
  "estimatedReadyTime": 1618489200000,
  "createdAt": 1618487374999, 
  "acceptedAt": 1618487444752,
  "readyAt": 1618487482658,
  "pickedupAt": 1618487580310,
  "updatedAt": 1618487580310,
  "payment": {
    "method": "string",
    "status": "paid"
    },
  "customer": {
    "customerId": "string",
    "gender": "FEMALE",
    "language": "en",
    "name": "Chieh Chen",
    "phoneNumber": "+886988111222",
    "email": "rsv@inlineapps.com"
    }
  }
}'''

# Ticket cancelled (valid JSON as printed).
OMBORI_POSITION_CANCELLED = r'''{
  "message": null,
  "data": {
    "position": {
      "id": "cce2ae86-1f5c-4dd4-b040-0b606a850f62",
      "location": "Sales - Living Room",
      "type": "booking",
      "priority": 100,
      "createdAt": "2021-01-11T14:48:24.479Z",
      "locale": "en",
      "notification": {
        "type": "phoneNumber",
        "settings": {
          "from": "",
          "to": "+4600000000",
          "recipient": ""
        }
      },
      "numberOfPeople": 1,
      "booking": {
        "start": "2021-01-13T05:30:00Z",
        "end": "2021-01-13T06:00:00Z"
      },
      "status": "rejected",
      "label": "",
      "queue": "dd31dda9-5ec0-46c6-a75b-71cb1f66a48d",
      "QRCodeCheckInPositionId": "{\"type\":\"check-in-position\",\"positionId\":\"cce2ae86-1f5c-4dd4-b040-0b606a850f62\"}",
      "bookingReminderAt": "2021-01-13T05:00:00Z"
    }
  },
  "type": "positionCancelled",
  "organization": "ikea-dev"
}'''

# Ticket cancelled by staff (valid JSON as printed).
OMBORI_POSITION_CANCELLED_BY_STAFF = r'''{
  "message": null,
  "data": {
    "position": {
      "id": "cce2ae86-1f5c-4dd4-b040-0b606a850f62",
      "location": "Sales - Living Room",
      "type": "booking",
      "priority": 100,
      "createdAt": "2021-01-11T14:48:24.479Z",
      "locale": "en",
      "notification": {
        "type": "phoneNumber",
        "settings": {
          "from": "",
          "to": "+4600000000",
          "recipient": ""
        }
      },
      "numberOfPeople": 1,
      "booking": {
        "start": "2021-01-13T05:30:00Z",
        "end": "2021-01-13T06:00:00Z"
      },
      "status": "rejected",
      "label": "",
      "queue": "dd31dda9-5ec0-46c6-a75b-71cb1f66a48d",
      "QRCodeCheckInPositionId": "{\"type\":\"check-in-position\",\"positionId\":\"cce2ae86-1f5c-4dd4-b040-0b606a850f62\"}",
      "bookingReminderAt": "2021-01-13T05:00:00Z"
    }
  },
  "type": "positionCancelledByStaff",
  "organization": "ikea-dev"
}'''

# Feedback received (valid JSON as printed).
OMBORI_FEEDBACK_RECEIVED = r'''{
  "data": {
    "position": {
      "id": "788ab8bd-1590-4bfb-8569-7a4920a3d679",
      "status": "completed",
      "priority": 0,
      "location": "IKEA Riyadh Store Exchange and Return",
      "label": "A2",
      "locale": "en",
      "type": "booking",
      "queue": "dd31dda9-5ec0-46c6-a75b-71cb1f66a48d",
      "createdAt": "2020-12-14T12:16:20.308Z",
      "extraStatus": "goToEntrance",
      "QRCodeCheckInPositionId": "{\"type\":\"check-in-position\",\"positionId\":\"788ab8bd-1590-4bfb-8569-7a4920a3d679\"}",
      "station": {
        "id": "259a8de4-f5ea-42c4-a9af-e272a42f1b6f",
        "label": "C2"
      },
      "notification": {
        "type": "phoneNumber",
        "settings": {
          "from": "",
          "to": "+4600000000"
        }
      },
      "numberOfPeople": 1,
      "booking": {
        "start": "2020-12-14T12:30:00Z",
        "end": "2020-12-14T13:00:00Z"
      },
      "fulfilledAt": "2020-12-14T12:16:26.473Z",
      "leaveReminderAt": null,
      "leaveAt": null,
      "feedback": {
        "rating": 4,
        "message": "Lorem ipsum"
      }
    }
  },
  "type": "feedbackReceived",
  "organization": "ombori"
}'''

# TruTac's documented clocking example, as printed (one member per line).
TRUTAC_CLOCKING = r'''{
"action": "created",
"clocking": {
"id": "CLOCKING-ID-123",
"driverId": "DRIVER-ID-123",
"clockingTimeStamp": "2018-01-01T09:01:53",
"isClockIn": true
}
}'''

# 1UPVISION's documented punch.create example (one line, as sent).
ONEUP_PUNCH_CREATE = r'''{"punch":{"id":2,"punched_at":"2022-08-28T17:36:59.163781Z","punch_type":"IN","photo_url":"","body_temp":null,"body_temp_unit":null,"body_temp_status":null,"person":{"id":1,"first_name":"Rohit","last_name":"","mobile_number":"+91 9999999999","email":"","dob":null,"primary_face_image_url":"","picture_url":null,"people_custom_data":{"data":[],"form_schema_revision_id":1},"people_form_schema_revision_id":1,"is_blacklisted":false,"created_at":"2023-06-14T06:23:40.675961Z"},"shift":{"id":1,"name":"Flexible Shift","code":"flexible-shift","type":"FLEXIBLE","created_at":"2022-02-02T12:12:09.798381Z","updated_at":"2022-02-02T12:12:09.798398Z"},"attendance":{"id":1,"attendance_date":"2022-08-28","shift_id":1,"person_id":1,"created_at":"2022-08-28T04:06:37.512632Z","updated_at":"2022-08-28T17:36:59.683209Z"},"created_at":"2022-08-28T17:36:59.540351Z","updated_at":"2022-08-28T17:36:59.540375Z","space_id":1,"organization_id":1}}'''
ONEUP_SEED_UUID = "1dc54786-9d69-487a-8c17-407ff20d0bdc"
ONEUP_SEED_TIMESTAMP = "2022-08-28T17:36:59Z"
