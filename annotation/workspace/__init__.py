"""The admin's workspace (DESIGN section 8): the project pages an admin runs a project from. Each page is a
plain HTML form over the same serializers and services as the REST API."""
